"""Notebooks 02 and 03: the 30-layer ablations of the MobileOne paper (Vasu et al., CVPR 2023,
§3), Table 2 (activations) and Table 3 (Squeeze-Excite and skip connections).

One package for both, in the study order: :mod:`.compute` (networks, counts, series, tables)
and :mod:`.measure` (the CPU latencies: timed live, or read from a file) → :mod:`.findings`
(typed) → :mod:`.prose` and :mod:`.figures`; :mod:`.steps` chains them. The notebooks' study
modules are :mod:`.activations` (02) and :mod:`.blocks` (03).
"""
