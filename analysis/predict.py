"""Predict a device's latency for every zoo model from a few models measured on it.

``python -m analysis predict --calibration my_device.csv [--models GROUP] [--out FILE]``
(the command's arguments live in :mod:`analysis.cli`; this module only computes).

**Features.** Every zoo model is described by its graph-level costs, counted once by
:mod:`analysis.complexity` (the committed ``notebooks/outputs/complexity.csv``; models missing
there are counted and cached; the table is read as it is, without rebuilding every model to
check its architecture digest as :func:`~analysis.complexity.count_table` does, which takes
~15 s — ``python -m analysis reproduce`` keeps it current): MACs, parameters, activations,
element-wise work, memory traffic, operators, layers and merges (all as log10, ``merges`` as
log10(1 + n)), plus two family indicators (transformer, MobileOne; every other family counts
as convolutional). Each column is standardized over all counted zoo models — a fixed,
label-free transform, so the calibration data never enter the scaling (but a model added to
the zoo shifts the scaling, and so every prediction slightly).

**Prior knowledge from the reference devices.** For each reference device r (the shipped
latency files, without the device being predicted) a ridge regression of log latency on all
costs gives a *profile* g_r(x): how the costs map to latency on that hardware, for every zoo
model, measured there or not. Their mean ḡ is the prior guess of a new device's log latency
up to a constant (the device's speed).

**Adapting to the new device.** The calibration models' log latencies y are fitted by ridge
regression (:class:`sklearn.linear_model.RidgeCV`) on one of these candidate designs:

* costs only, with one of the feature sets :data:`FEATURE_SETS` (``macs``: log MACs;
  ``macs_family``: + family indicators; ``costs``: all graph costs + family);
* prior + costs: target y − ḡ(x), features ḡ and g_r − ḡ (one per reference) and a feature
  set. Ridge shrinks towards "the device behaves like the average reference device, only
  faster or slower"; with more calibration models it tilts towards the reference devices
  that fit and corrects with costs.

The intercept (the device's speed) is never penalized. The regularization α is chosen per
candidate by efficient leave-one-out cross-validation on the calibration models (RidgeCV's
generalized CV), and the candidate with the lowest leave-one-out squared error is used. Both
choices see only the calibration models, so an evaluation that leaves models or devices out
(:mod:`analysis.studies.prediction`) never tunes on its evaluation fold.

**90 % intervals** are symmetric in log space (so multiplicative in ms): the half-width is the
conformal quantile (the ⌈0.9 (m + 1)⌉-th smallest) of m absolute held-out residuals. These are
the calibration models' leave-one-out residuals of the selected design, and, with fewer than
:data:`MIN_LOO_INTERVAL` calibration models and reference devices at hand, also the residuals
of the same procedure simulated on each reference device with as many random calibration
models (a new-device error rate learnt from the other devices). With too few residuals for
the conformal rank, a Student-t interval on their root mean square is used.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn import config_context
from sklearn.linear_model import RidgeCV

from analysis import paths
from analysis.complexity import count_table
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency
from analysis.latency.manifest import study_files
from analysis.models import resolve_models

#: Count columns of :func:`analysis.complexity.count_table` used as costs (log10).
COST_COLUMNS = ("macs", "params", "activations", "elementwise", "memory_bytes", "operators",
                "layers", "merges")
FAMILY_FEATURES = ("transformer", "mobileone")
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "macs": ("macs",),
    "macs_family": ("macs", *FAMILY_FEATURES),
    "costs": (*COST_COLUMNS, *FAMILY_FEATURES),
}
FEATURE_LABELS = {"macs": "MACs", "params": "parameters", "activations": "activations",
                  "elementwise": "element-wise work", "memory_bytes": "memory traffic",
                  "operators": "operators", "layers": "layers", "merges": "merges",
                  "transformer": "transformer family", "mobileone": "MobileOne family"}
ALPHAS = tuple(np.logspace(-3, 4, 15))
COVERAGE = 0.9
#: From this many calibration models on, intervals use their leave-one-out residuals only.
MIN_LOO_INTERVAL = 30
MIN_CALIBRATION = 3
PREDICTION_COLUMNS = ["model", "model_id", "family", "measured", "latency_ms",
                      "predicted_ms", "low_ms", "high_ms", "macs"]


# ---------------------------------------------------------------------------------------------
# cost features

def cost_table(models=None) -> pd.DataFrame:
    """Counts of ``models`` (ids; default every model of the committed table), indexed by
    model id: the committed ``notebooks/outputs/complexity.csv`` where it has the model,
    :func:`analysis.complexity.count_table` (cached counts) for the others."""
    committed = paths.NOTEBOOK_OUTPUTS / "complexity.csv"
    table = pd.read_csv(committed) if committed.is_file() else pd.DataFrame(columns=["model_id"])
    table = table.set_index("model_id", drop=False)
    if models is None:
        return table
    missing = [m for m in models if m not in table.index]
    if missing:
        table = pd.concat([table, count_table(missing).set_index("model_id", drop=False)])
    return table.loc[list(models)]


def features(costs: pd.DataFrame) -> pd.DataFrame:
    """Standardized features (one column per cost and family indicator) of a cost table."""
    out = pd.DataFrame(index=costs.index)
    for c in COST_COLUMNS:
        values = costs[c].astype(float) + (1.0 if c == "merges" else 0.0)
        if (values <= 0).any():
            bad = values.index[values <= 0][0]
            raise DataFormatError(f"cost table: {c} of {bad} is {costs.loc[bad, c]}, "
                                  f"not positive; recount with python -m analysis count")
        out[c] = np.log10(values)
    for fam in FAMILY_FEATURES:
        out[fam] = (costs["family"] == fam).astype(float)
    std = out.std(ddof=0).replace(0, 1.0)
    return (out - out.mean()) / std


# ---------------------------------------------------------------------------------------------
# the predictor

def _ridge(x: np.ndarray, y: np.ndarray, alphas=ALPHAS):
    with config_context(assume_finite=True, skip_parameter_validation=True):  # checked inputs
        return RidgeCV(alphas=alphas, store_cv_results=True).fit(x, y)


def _loo_abs_residuals(ridge) -> np.ndarray:
    """|leave-one-out residual| of each training row at the chosen α (RidgeCV's exact GCV)."""
    i = int(np.argmin(np.abs(np.asarray(ridge.alphas) - ridge.alpha_)))
    return np.sqrt(np.asarray(ridge.cv_results_)[:, i])


def conformal_halfwidth(abs_residuals, coverage: float = COVERAGE) -> float:
    """Half-width of a symmetric interval covering ``coverage`` of new residuals: the
    ⌈coverage·(m + 1)⌉-th smallest of m absolute residuals, or a Student-t interval on their
    root mean square when m is too small for that rank."""
    r = np.sort(np.asarray(abs_residuals, float))
    m = len(r)
    rank = math.ceil(coverage * (m + 1))
    if m and rank <= m:
        return float(r[rank - 1])
    rms = float(np.sqrt(np.mean(r ** 2))) if m else float("inf")
    return float(sps.t.ppf(0.5 + coverage / 2, df=max(m - 1, 1)) * rms)


class LatencyPredictor:
    """Ridge predictor of log latency on one device (see the module docstring).

    ``feats``: :func:`features` of every model that may be asked for (index: model id);
    ``references``: ``{name: log-latency Series}`` of the reference devices (index: model id),
    ``groups``: ``{name: physical device}`` (simulations keep twins out of each other's
    references); ``candidates``: designs ``(feature set or None, use prior)`` to choose from."""

    def __init__(self, feats: pd.DataFrame, references: dict | None = None,
                 groups: dict | None = None, candidates=None, alphas=ALPHAS,
                 coverage: float = COVERAGE, n_simulations: int = 10, seed: int = 0,
                 measured_prior: bool = True):
        self.measured_prior = measured_prior
        self.feats, self.alphas, self.coverage = feats, alphas, coverage
        self.references = {k: v.dropna() for k, v in (references or {}).items()}
        self.groups = groups or {k: k for k in self.references}
        self.n_simulations, self.seed = n_simulations, seed
        if candidates is None:
            candidates = [(fs, False) for fs in FEATURE_SETS]
            if self.references:
                candidates += [(fs, True) for fs in (None, *FEATURE_SETS)]
        self.candidates = list(candidates)
        self.profiles = self._profiles()
        self._pos = {m: i for i, m in enumerate(feats.index)}
        self._f = feats.to_numpy(float)
        self._cols = {fs: [feats.columns.get_loc(c) for c in cols]
                      for fs, cols in FEATURE_SETS.items()}
        self._p = self.profiles.to_numpy(float)
        self._pools: dict[int, np.ndarray] = {}

    def _profiles(self) -> pd.DataFrame:
        """Columns ḡ then g_r − ḡ per reference (log latency, standardized by ḡ's spread)."""
        if not self.references:
            return pd.DataFrame(index=self.feats.index)
        cols = list(FEATURE_SETS["costs"])
        g = pd.DataFrame(index=self.feats.index)
        for name, y in self.references.items():
            ids = [m for m in y.index if m in self.feats.index]
            ridge = _ridge(self.feats.loc[ids, cols].to_numpy(), y.loc[ids].to_numpy(),
                           self.alphas)
            fitted = pd.Series(ridge.predict(self.feats[cols].to_numpy()), index=self.feats.index)
            g[name] = y.reindex(self.feats.index).fillna(fitted) if self.measured_prior else fitted
        mean = g.mean(axis=1)
        scale = float(mean.std(ddof=0)) or 1.0
        out = pd.DataFrame({"prior": mean}, index=g.index)
        for name in g:
            out[f"ref:{name}"] = (g[name] - mean) / scale
        out.attrs["scale"] = scale
        return out

    def _design(self, ids, candidate) -> tuple[np.ndarray, np.ndarray]:
        """``(X, offset)``: design matrix and the prior offset subtracted from the target."""
        fs, prior = candidate
        rows = self._rows(ids)
        parts = [self._f[np.ix_(rows, self._cols[fs])]] if fs else []
        offset = np.zeros(len(rows))
        if prior:
            p = self._p[rows]
            offset = p[:, 0]
            parts[:0] = [(offset / self.profiles.attrs["scale"])[:, None], p[:, 1:]]
        return np.hstack(parts), offset

    def _rows(self, ids) -> np.ndarray:
        try:
            return np.fromiter((self._pos[m] for m in ids), dtype=int)
        except KeyError as exc:
            raise ConfigError(f"no cost features for model {exc}; count it with "
                              f"python -m analysis count --models {exc.args[0]}") from None

    def fit(self, log_latency: pd.Series, *, intervals: bool = True) -> "LatencyPredictor":
        """Fit on calibration models (``log_latency``: natural log of ms, index: model id)."""
        y_ser = log_latency.dropna()
        ids = list(y_ser.index)
        if len(ids) < MIN_CALIBRATION:
            raise ConfigError(f"need at least {MIN_CALIBRATION} calibration models, got "
                              f"{len(ids)}")
        y = y_ser.to_numpy(float)
        best = None
        for cand in self.candidates:
            x, offset = self._design(ids, cand)
            ridge = _ridge(x, y - offset, self.alphas)
            if best is None or ridge.best_score_ > best[1].best_score_ + 1e-12:
                best = (cand, ridge)
        self.candidate_, self.ridge_ = best
        self.alpha_ = float(self.ridge_.alpha_)
        self.calibration_ = y_ser
        self.halfwidth_ = float("nan")
        if intervals:
            pool = _loo_abs_residuals(self.ridge_)
            if len(ids) < MIN_LOO_INTERVAL and self.references:
                pool = np.concatenate([pool, self.simulated_residuals(len(ids))])
            self.halfwidth_ = conformal_halfwidth(pool, self.coverage)
        return self

    def predict_log(self, ids) -> np.ndarray:
        x, offset = self._design(list(ids), self.candidate_)
        return self.ridge_.predict(x) + offset

    def predict(self, ids) -> pd.DataFrame:
        """``predicted_ms, low_ms, high_ms`` per model id."""
        mu = self.predict_log(ids)
        return pd.DataFrame({"predicted_ms": np.exp(mu), "low_ms": np.exp(mu - self.halfwidth_),
                             "high_ms": np.exp(mu + self.halfwidth_)}, index=list(ids))

    def simulated_residuals(self, k: int) -> np.ndarray:
        """|log residuals| of this procedure on each reference device given ``k`` random
        calibration models from it (its physical twins left out of its references)."""
        if k in self._pools:
            return self._pools[k]
        rng = np.random.default_rng(self.seed)
        out = []
        for name, y in self.references.items():
            y = y[[m for m in y.index if m in self.feats.index]]
            if len(y) <= k:
                continue
            others = {n: v for n, v in self.references.items()
                      if self.groups.get(n) != self.groups.get(name)}
            sim = LatencyPredictor(self.feats, others, self.groups, alphas=self.alphas)
            for _ in range(self.n_simulations):
                cal = rng.choice(len(y), size=k, replace=False)
                rest = np.setdiff1d(np.arange(len(y)), cal)
                sim.fit(y.iloc[cal], intervals=False)
                out.append(np.abs(sim.predict_log(y.index[rest]) - y.iloc[rest].to_numpy()))
        self._pools[k] = np.concatenate(out) if out else np.array([])
        return self._pools[k]

    def describe(self) -> str:
        fs, prior = self.candidate_
        parts = ([f"feature set {fs}"] if fs else []) + (["reference-device prior"]
                                                          if prior else [])
        return f"{' + '.join(parts)}, α = {self.alpha_:.3g}"


# ---------------------------------------------------------------------------------------------
# devices and the `predict` command

def by_device(table: pd.DataFrame):
    """``(name, rows)`` per (device, runtime) of a tidy latency table, and per ``regime`` where
    it has several: ``"iPhone 12 / coreml"``, ``"NVIDIA H200 / torch graph fp16"``."""
    regimes = "regime" in table and table["regime"].notna().any()
    keys = ["device", "runtime", "regime"] if regimes else ["device", "runtime"]
    for key, g in table.groupby(keys, sort=False, dropna=False):
        regime = key[2] if regimes and not pd.isna(key[2]) else ""
        yield f"{key[0]} / {key[1]}" + (f" {regime}" if regime else ""), g


def device_latencies(table: pd.DataFrame) -> tuple[dict, dict]:
    """``({name: log-latency Series by model id}, {name: physical device})`` of a tidy latency
    table, one entry per (device, runtime) — and per ``regime`` where a file has several
    (``NVIDIA H200 / torch graph fp16``): every regime of a device is the same hardware. Rows
    without a zoo model are dropped; a model twice in one entry is an error naming it."""
    table = table[table["model_id"].notna()]
    series, groups = {}, {}
    for name, g in by_device(table):
        device = str(g["device"].iloc[0])
        y = g.set_index("model_id")["latency_ms"].astype(float)
        if not y.index.is_unique:
            twice = y.index[y.index.duplicated()][0]
            raise DataFormatError(f"{name}: model {twice} has several latencies "
                                  f"({', '.join(sorted(set(g['file'].astype(str))))}); "
                                  f"expected one per device, runtime and regime")
        series[name] = np.log(y)
        groups[name] = device
    return series, groups


def reference_files() -> list[Path]:
    """The shipped latency files of zoo models: the files of ``data/latency/manifest.csv``
    with ``content`` ``zoo`` (:func:`analysis.latency.manifest.study_files`), by file name."""
    return sorted(study_files(content="zoo"), key=lambda p: p.name)


def _calibration(path: Path) -> pd.DataFrame:
    table = load_latency(path)
    outside = table[table["model_id"].isna()]
    if len(outside):
        row = outside.iloc[0]
        raise DataFormatError(f"{path}, line {row['line']}: model {row['model']!r} is not in "
                              f"the zoo, so it has no cost features; remove it (see "
                              f"python -m analysis count --list)")
    if table["device"].nunique() * table["runtime"].nunique() > 1:
        raise DataFormatError(f"{path}: calibration file must hold one device and runtime, "
                              f"found {table.groupby(['device', 'runtime']).ngroups}")
    if len(table) < MIN_CALIBRATION:
        raise ConfigError(f"{path}: {len(table)} calibration model"
                          f"{'s' if len(table) != 1 else ''}; need at least "
                          f"{MIN_CALIBRATION} measured zoo models")
    return table


def predict_device(calibration, models="table9", reference_paths=None, *, seed: int = 0,
                   n_simulations: int = 5) -> pd.DataFrame:
    """Predictions for ``models`` on the device of the ``calibration`` file (columns
    :data:`PREDICTION_COLUMNS`); measured rows keep their measured latency in ``latency_ms``.
    The predictor is in ``frame.attrs['predictor']``."""
    cal = _calibration(paths.user_path(calibration))
    ids = list(dict.fromkeys(resolve_models(models)))
    all_costs = cost_table()
    extra = [m for m in dict.fromkeys([*ids, *cal["model_id"]]) if m not in all_costs.index]
    costs = pd.concat([all_costs, cost_table(extra)]) if extra else all_costs
    feats = features(costs)
    ref_paths = reference_files() if reference_paths is None else list(reference_paths)
    own = paths.user_path(calibration).resolve()
    ref_paths = [p for p in ref_paths if Path(p).resolve() != own]
    references, groups = device_latencies(load_latency(ref_paths)) if ref_paths else ({}, {})
    device = str(cal["device"].iloc[0])
    for name in [n for n in references if groups[n] == device]:  # the same hardware: not prior
        references.pop(name)
    y = np.log(cal.set_index("model_id")["latency_ms"].astype(float))
    predictor = LatencyPredictor(feats, references, groups, seed=seed,
                                 n_simulations=n_simulations).fit(y)
    pred = predictor.predict(ids)
    measured = cal.set_index("model_id")["latency_ms"].astype(float)
    out = pd.DataFrame({
        "model": costs.loc[ids, "model"].to_numpy(), "model_id": ids,
        "family": costs.loc[ids, "family"].to_numpy(),
        "measured": [m in measured.index for m in ids],
        "latency_ms": [measured.get(m, np.nan) for m in ids],
        "predicted_ms": pred["predicted_ms"].to_numpy(), "low_ms": pred["low_ms"].to_numpy(),
        "high_ms": pred["high_ms"].to_numpy(), "macs": costs.loc[ids, "macs"].to_numpy()})
    out.attrs.update(predictor=predictor, device=device, runtime=str(cal["runtime"].iloc[0]))
    return out
