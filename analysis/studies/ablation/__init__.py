"""Notebooks 02 and 03: the 30-layer ablations of the MobileOne paper (Vasu et al., CVPR 2023,
§3), Table 2 (activations) and Table 3 (Squeeze-Excite and skip connections).

One package for both, in the study order: :mod:`.compute` (networks, counts, series, tables)
and :mod:`.measure` (the latency files — the committed campaigns by default, a user's files, a
live campaign with ``MEASURE`` — read into series with their measured noise bands) →
:mod:`.findings` (typed) → :mod:`.prose` and :mod:`.figures`; :mod:`.steps` chains them. The
notebooks' study modules are :mod:`.activations` (02) and :mod:`.blocks` (03);
:mod:`.ratios` gives other notebooks the same slowdowns and verdicts in one call.
"""
