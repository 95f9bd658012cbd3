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
as convolutional). Each column is standardized with the mean and standard deviation of a
fixed, stated set of models, :data:`SCALING_MODELS` (the 30 models of the paper's Table 9) —
a label-free transform that neither the calibration data nor the size of the zoo enter: a
model added to the zoo changes no prediction of the others.

**Prior knowledge from the reference devices.** For each reference device r (the shipped
latency files, without the device being predicted) a ridge regression of log latency on all
costs gives a *profile* g_r(x): how the costs map to latency on that hardware, for every zoo
model, measured there or not (its measured value where it was measured). Their mean ḡ is the
prior guess of a new device's log latency up to a constant (the device's speed). Profiles
depend only on the reference device, so they are computed once (:func:`reference_profiles`)
and shared by every predictor and simulation that uses that device.

**Adapting to the new device.** The calibration models' log latencies y are fitted by ridge
regression (closed form, :func:`ridge_cv`) on one of these candidate designs:

* costs only, with one of the feature sets :data:`FEATURE_SETS` (``macs``: log MACs;
  ``macs_family``: + family indicators; ``costs``: all graph costs + family);
* prior + costs: target y − ḡ(x), features ḡ and g_r − ḡ (one per reference) and a feature
  set. Ridge shrinks towards "the device behaves like the average reference device, only
  faster or slower"; with more calibration models it tilts towards the reference devices
  that fit and corrects with costs.

The intercept (the device's speed) is never penalized. The regularization α is chosen per
candidate by exact leave-one-out cross-validation on the calibration models (the hat-matrix
identity e_i / (1 − h_ii), for every α of :data:`ALPHAS` from one SVD), and the candidate with
the lowest leave-one-out squared error is used. Scores within a relative :data:`TIE` of the
best count as tied — the largest α, then the first candidate (simplest first) wins — so the
choice never rests on the last bits of a float. Both choices see only the calibration
models, so an evaluation that leaves models or devices out (:mod:`analysis.studies.prediction`)
never tunes on its evaluation fold.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis import paths
from analysis.complexity import count_table
from analysis.errors import ConfigError, DataFormatError
from analysis.latency import load_latency
from analysis.latency.checks import series_names
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
#: Groups of collinear costs (notebook 06 measures each group's importance out of sample by
#: dropping it): compute, memory traffic, launch/synchronization, model family.
COST_GROUPS: dict[str, tuple[str, ...]] = {
    "compute": ("macs", "params", "activations"),
    "memory": ("memory_bytes", "elementwise"),
    "launch": ("operators", "layers", "merges"),
    "family": FAMILY_FEATURES,
}
GROUP_LABELS = {"compute": "compute (MACs, parameters, activations)",
                "memory": "memory (traffic, element-wise work)",
                "launch": "launch/synchronization (operators, layers, merges)",
                "family": "family (transformer, MobileOne)"}
#: The models whose mean and standard deviation standardize every feature (a fixed group of
#: the registry: the paper's Table 9), so that growing the zoo changes no prediction.
SCALING_MODELS = "table9"
ALPHAS = tuple(np.logspace(-3, 4, 15))
#: Relative difference of leave-one-out errors below which two choices (α, design) are tied.
TIE = 1e-9
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


def _raw_features(costs: pd.DataFrame) -> pd.DataFrame:
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
    return out


def scaling_ids() -> list[str]:
    """The model ids of :data:`SCALING_MODELS`."""
    return list(dict.fromkeys(resolve_models(SCALING_MODELS)))


def features(costs: pd.DataFrame) -> pd.DataFrame:
    """Standardized features (one column per cost and family indicator) of a cost table,
    standardized with the mean and standard deviation of the :data:`SCALING_MODELS` (counted
    if ``costs`` lacks some of them)."""
    ids = scaling_ids()
    basis = costs.loc[ids] if set(ids) <= set(costs.index) else cost_table(ids)
    ref = _raw_features(basis)
    std = ref.std(ddof=0).replace(0, 1.0)
    return (_raw_features(costs) - ref.mean()) / std


# ---------------------------------------------------------------------------------------------
# ridge regression in closed form

@dataclass(frozen=True)
class RidgeFit:
    """A ridge regression with an unpenalized intercept, α chosen by exact leave-one-out.

    ``loo_mse``: mean squared leave-one-out residual per α of ``alphas``;
    ``loo_residuals``: the leave-one-out residuals at the chosen ``alpha``."""

    alpha: float
    coef: np.ndarray
    intercept: float
    alphas: tuple
    loo_mse: np.ndarray
    loo_residuals: np.ndarray

    @property
    def score(self) -> float:
        """The leave-one-out mean squared error at the chosen α (lower is better)."""
        return float(self.loo_mse[self.alphas.index(self.alpha)])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, float) @ self.coef + self.intercept


def best_index(errors, tie: float = TIE, prefer_last: bool = True) -> int:
    """Index of the lowest of ``errors``; values within a relative ``tie`` of the lowest are
    tied, and the last (``prefer_last``: the largest α of an increasing grid) or the first of
    them wins — the same choice on every machine."""
    e = np.asarray(errors, float)
    e = np.where(np.isfinite(e), e, np.inf)
    tied = np.flatnonzero(e <= e.min() * (1 + tie) + 1e-300)
    return int(tied[-1] if prefer_last else tied[0])


def ridge_cv(x, y, alphas=ALPHAS) -> RidgeFit:
    """Ridge regression of ``y`` on ``x`` with an unpenalized intercept; α from ``alphas`` by
    exact leave-one-out squared error, from one SVD of the centred design: with
    x_c = U S Vᵀ and shrinkage f_j = s_j² / (s_j² + α), the hat matrix is
    H = 11ᵀ/n + U diag(f) Uᵀ and the leave-one-out residual e_i / (1 − h_ii) (the same numbers
    as :class:`sklearn.linear_model.RidgeCV`'s efficient leave-one-out, far faster on
    matrices of a few dozen rows; ``tests/test_predict.py`` compares them)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    alphas = tuple(float(a) for a in alphas)
    n, p = x.shape
    x_mean, y_mean = x.sum(axis=0) / n, float(y.sum()) / n
    xc, yc = x - x_mean, y - y_mean
    if p:
        u, s, vt = np.linalg.svd(xc, full_matrices=False)
        keep = s > s[0] * 1e-10
        u, s, vt = u[:, keep], s[keep], vt[keep]
    else:
        u, s, vt = np.zeros((n, 0)), np.zeros(0), np.zeros((0, 0))
    s2 = s * s
    shrink = s2 / (s2 + np.array(alphas)[:, None])  # (α, r)
    uty = yc @ u
    residuals = (yc - (shrink * uty) @ u.T) / (1.0 - 1.0 / n - shrink @ (u * u).T)
    mse = (residuals * residuals).sum(axis=1) / n
    i = best_index(mse)
    coef = vt.T @ (s / (s2 + alphas[i]) * uty) if len(s) else np.zeros(p)
    return RidgeFit(alphas[i], coef, y_mean - float(x_mean @ coef), alphas, mse, residuals[i])


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


# ---------------------------------------------------------------------------------------------
# the predictor

def reference_profiles(feats: pd.DataFrame, references: dict, alphas=ALPHAS,
                       measured: bool = True) -> dict:
    """``{name: profile}``: each reference device's log latency for every model of ``feats``
    — its ridge fit on all costs (α by leave-one-out), or (``measured``) its measured value
    where it was measured."""
    cols = list(FEATURE_SETS["costs"])
    x_all = feats[cols].to_numpy(float)
    out = {}
    for name, y in references.items():
        y = y.dropna()
        y = y[y.index.isin(feats.index)]
        fit = ridge_cv(feats.loc[y.index, cols].to_numpy(float), y.to_numpy(float), alphas)
        fitted = pd.Series(fit.predict(x_all), index=feats.index)
        out[name] = y.reindex(feats.index).fillna(fitted) if measured else fitted
    return out


class LatencyPredictor:
    """Ridge predictor of log latency on one device (see the module docstring).

    ``feats``: :func:`features` of every model that may be asked for (index: model id);
    ``references``: ``{name: log-latency Series}`` of the reference devices (index: model id),
    ``groups``: ``{name: physical device}`` (simulations keep twins out of each other's
    references); ``candidates``: designs ``(feature set or None, use prior)`` to choose from;
    ``profiles``: :func:`reference_profiles` of (at least) ``references``, computed when not
    given."""

    def __init__(self, feats: pd.DataFrame, references: dict | None = None,
                 groups: dict | None = None, candidates=None, alphas=ALPHAS,
                 coverage: float = COVERAGE, n_simulations: int = 10, seed: int = 0,
                 measured_prior: bool = True, profiles: dict | None = None):
        self.measured_prior = measured_prior
        self.feats, self.alphas, self.coverage = feats, tuple(alphas), coverage
        self.references = {k: v.dropna() for k, v in (references or {}).items()}
        self.groups = groups or {k: k for k in self.references}
        self.n_simulations, self.seed = n_simulations, seed
        if candidates is None:
            candidates = [(fs, False) for fs in FEATURE_SETS]
            candidates += [(fs, True) for fs in (None, *FEATURE_SETS)]
        self.candidates = [c for c in candidates if self.references or not c[1]]
        missing = [n for n in self.references if n not in (profiles or {})]
        self.all_profiles = {**(profiles or {}),
                             **reference_profiles(feats, {n: self.references[n] for n in
                                                          missing}, self.alphas,
                                                  measured_prior)}
        self._pos = {m: i for i, m in enumerate(feats.index)}
        self._f = feats.to_numpy(float)
        self._cols = {fs: [feats.columns.get_loc(c) for c in cols]
                      for fs, cols in FEATURE_SETS.items()}
        self._p, self.scale = self._profile_matrix()
        self._pools: dict[int, np.ndarray] = {}

    def _profile_matrix(self) -> tuple[np.ndarray, float]:
        """Columns ḡ then (g_r − ḡ) / scale per reference, and the scale: the standard
        deviation of ḡ over the :data:`SCALING_MODELS` (fixed, as the features are)."""
        if not self.references:
            return np.zeros((len(self.feats), 1)), 1.0
        g = np.column_stack([self.all_profiles[n].reindex(self.feats.index).to_numpy(float)
                             for n in self.references])
        mean = g.mean(axis=1)
        basis = [self._pos[m] for m in scaling_ids() if m in self._pos]
        scale = float(np.std(mean[basis] if basis else mean)) or 1.0
        return np.column_stack([mean, (g - mean[:, None]) / scale]), scale

    def _design(self, rows: np.ndarray, candidate) -> tuple[np.ndarray, np.ndarray]:
        """``(X, offset)``: design matrix and the prior offset subtracted from the target."""
        return self._assemble(self._f[rows], self._p[rows], candidate)

    def _assemble(self, f: np.ndarray, p: np.ndarray, candidate):
        fs, prior = candidate
        x = f[:, self._cols[fs]] if fs else np.zeros((len(f), 0))
        if not prior:
            return x, np.zeros(len(f))
        return np.hstack([p[:, :1] / self.scale, p[:, 1:], x]), p[:, 0]

    def _rows(self, ids) -> np.ndarray:
        try:
            return np.fromiter((self._pos[m] for m in ids), dtype=int)
        except KeyError as exc:
            raise ConfigError(f"no cost features for model {exc}; count it with "
                              f"python -m analysis count --models {exc.args[0]}") from None

    def fit(self, log_latency: pd.Series, *, intervals: bool = True) -> "LatencyPredictor":
        """Fit on calibration models (``log_latency``: natural log of ms, index: model id)."""
        y_ser = log_latency.dropna()
        if len(y_ser) < MIN_CALIBRATION:
            raise ConfigError(f"need at least {MIN_CALIBRATION} calibration models, got "
                              f"{len(y_ser)}")
        rows, y = self._rows(y_ser.index), y_ser.to_numpy(float)
        f, p = self._f[rows], self._p[rows]
        fits = []
        for cand in self.candidates:
            x, offset = self._assemble(f, p, cand)
            fits.append((cand, ridge_cv(x, y - offset, self.alphas)))
        i = best_index([f.score for _, f in fits], prefer_last=False)  # simplest first
        self.candidate_, self.ridge_ = fits[i]
        self.alpha_ = self.ridge_.alpha
        self.calibration_ = y_ser
        self.halfwidth_ = float("nan")
        if intervals:
            pool = np.abs(self.ridge_.loo_residuals)
            if len(y_ser) < MIN_LOO_INTERVAL and self.references:
                pool = np.concatenate([pool, self.simulated_residuals(len(y_ser))])
            self.halfwidth_ = conformal_halfwidth(pool, self.coverage)
        return self

    def predict_log(self, ids) -> np.ndarray:
        x, offset = self._design(self._rows(ids), self.candidate_)
        return self.ridge_.predict(x) + offset

    def predict(self, ids) -> pd.DataFrame:
        """``predicted_ms, low_ms, high_ms`` per model id."""
        mu = self.predict_log(ids)
        return pd.DataFrame({"predicted_ms": np.exp(mu), "low_ms": np.exp(mu - self.halfwidth_),
                             "high_ms": np.exp(mu + self.halfwidth_)}, index=list(ids))

    def simulated_residuals(self, k: int) -> np.ndarray:
        """|log residuals| of this procedure on each reference device given ``k`` random
        calibration models from it (its physical twins left out of its references; the
        profiles are shared, not refitted)."""
        if k in self._pools:
            return self._pools[k]
        rng = np.random.default_rng(self.seed)
        out = []
        for name, y in self.references.items():
            y = y[y.index.isin(self.feats.index)]
            if len(y) <= k:
                continue
            others = {n: v for n, v in self.references.items()
                      if self.groups.get(n) != self.groups.get(name)}
            sim = LatencyPredictor(self.feats, others, self.groups, self.candidates,
                                   self.alphas, profiles=self.all_profiles,
                                   measured_prior=self.measured_prior)
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

def by_device(table: pd.DataFrame, names=None):
    """``(name, rows)`` per series of a tidy latency table; ``names``: one name per row
    (default :func:`series_names`)."""
    names = series_names(table) if names is None else pd.Series(names, index=table.index)
    yield from table.groupby(names, sort=False)


def device_latencies(table: pd.DataFrame, names=None) -> tuple[dict, dict]:
    """``({name: log-latency Series by model id}, {name: physical device})`` of a tidy latency
    table, one entry per series (``names``: one per row, as in :func:`by_device`): every
    runtime and regime of a physical device (``physical_device``, else ``device``) is the same
    hardware. Rows without a zoo model are dropped; a model twice in one entry is an error
    naming it."""
    names = series_names(table) if names is None else pd.Series(names, index=table.index)
    keep = table["model_id"].notna()
    table, names = table[keep], names[keep]
    physical = "physical_device" if "physical_device" in table else "device"
    series, groups = {}, {}
    for name, g in by_device(table, names):
        y = g.set_index("model_id")["latency_ms"].astype(float)
        if not y.index.is_unique:
            twice = y.index[y.index.duplicated()][0]
            raise DataFormatError(f"{name}: model {twice} has several latencies "
                                  f"({', '.join(sorted(set(g['file'].astype(str))))}); "
                                  f"expected one per device, runtime and regime")
        series[name] = np.log(y)
        groups[name] = str(g[physical].fillna(g["device"]).iloc[0])
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
    hardware = {device, str(cal["physical_device"].iloc[0]) if "physical_device" in cal
                else device}
    for name in [n for n in references if groups[n] in hardware]:  # same hardware: no prior
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
