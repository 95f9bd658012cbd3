"""Reproducible latency-vs-metric study of efficient CNNs around MobileOne.

MobileOne: Vasu et al., "An Improved One millisecond Mobile Backbone", CVPR 2023
(arXiv:2206.04040). The package holds every piece of logic; the notebooks only call it.

Sub-modules (imported lazily so that ``import analysis`` stays cheap):

- :mod:`analysis.models`      model registry (``create_model``, ``list_models``), MobileOne, the zoo
- :mod:`analysis.complexity`  MACs / parameters / activations with fvcore
- :mod:`analysis.paths`       every location of the project, resolved from the repository root
- :mod:`analysis.errors`      the exception types that carry one-line, user-facing messages
"""

__version__ = "0.1.0"
