"""Fuzzing the public API: bad inputs get our errors, never raw ones, never a silent NaN.

Property-based (hypothesis): for every public function and estimator method, inputs are
drawn from junk (NaN and infinities at random places, wrong shapes and kinds, strings,
None, bools, negative sizes, ragged lists, objects of the wrong type) mixed with valid
values. Each call must either

- raise ``ValueError`` or ``TypeError`` (scikit-learn's ``InvalidParameterError`` and
  ``NotFittedError`` are both), raised by skspectral's or scikit-learn's own checks (the
  innermost frame of the traceback is in one of them, not in NumPy or torch) with a message
  naming the input, or
- return a correct result: its checks are in each test (finite probabilities that sum to
  1, labels among ``classes_``, fractions in [0, 1], ...).

Anything else (an IndexError, a RuntimeError from torch, a ValueError from inside NumPy, a
NaN where a number is due) fails the test with the input that caused it.

Profiles: the default run is small and reproducible (``derandomize``: the same cases on
every machine, no example database); ``-m slow`` runs each property with many more cases.
The counts of cases generated are printed at the end of the module's tests.
"""

import collections
import contextlib
import inspect
import math
import os
import traceback

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from skorch.callbacks import Callback

import skspectral
from skspectral import (
    FeatureProbe,
    HopSkipJump,
    RobustnessScorer,
    SpectralMLPClassifier,
    TangentAttack,
    adversarial_distances,
    certified_lower_bound,
    paper_estimator,
    volume_element,
)
from skspectral.datasets import get_data_home, make_xor

_COMMON = dict(deadline=None, derandomize=True, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
FAST = settings(max_examples=int(os.environ.get("SKSPECTRAL_FUZZ_EXAMPLES", 12)), **_COMMON)
LONG = settings(max_examples=200, **_COMMON)

#: Cases generated per property in this session (printed at the end of the module).
COUNTS = collections.Counter()
OUTCOMES = collections.Counter()

_ATTACK = {"max_iter": 1, "n_starts": 1, "start_iter": 0, "init_probes": 3, "max_halvings": 2,
           "init_trials": 4}


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or not COUNTS:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        reporter.write_line(f"fuzz: {sum(COUNTS.values())} cases over {len(COUNTS)} properties "
                            f"({', '.join(f'{k} {v}' for k, v in sorted(OUTCOMES.items()))})")
        for name, n in sorted(COUNTS.items()):
            reporter.write_line(f"  {name}: {n}")


def fuzz(strategy_kwargs):
    """Decorate a property ``prop(**drawn)`` into a fast test and a slow one (``-m slow``)."""
    def make(prop):
        def counted(*args, **drawn):
            COUNTS[prop.__name__] += 1
            prop(*args, **drawn)

        counted.__name__ = prop.__name__
        counted.__signature__ = inspect.signature(prop)  # pytest's fixtures, hypothesis' draws
        fast = FAST(given(**strategy_kwargs)(counted))
        slow = pytest.mark.slow(LONG(given(**strategy_kwargs)(counted)))
        return fast, slow
    return make


# ------------------------------------------------------------------------ the judge
_OURS = (os.path.dirname(skspectral.__file__), f"{os.sep}sklearn{os.sep}")


def outcome(call, names, check=None, tolerated=()):
    """Run ``call``: our error naming one of ``names``, or a result ``check`` accepts.

    Returns ``"refused"`` or ``"returned"``; fails the test otherwise. ``tolerated``: other
    exception types that are the right answer (a MemoryError for a size too large to hold).
    """
    try:
        out = call()
    except tolerated:
        OUTCOMES["refused"] += 1
        return "refused"
    except (ValueError, TypeError) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        origin = frames[-1].filename if frames else ""
        assert any(part in origin for part in _OURS), (
            f"{type(exc).__name__} raised inside {origin}, not by our checks: {exc}")
        message = str(exc).lower()
        assert any(n.lower() in message for n in names), (
            f"{type(exc).__name__} does not name any of {names}: {exc}")
        OUTCOMES["refused"] += 1
        return "refused"
    if check is not None:
        check(out)
    OUTCOMES["returned"] += 1
    return "returned"


def finite(values):
    values = np.asarray(values, dtype=float)
    assert not np.isnan(values).any(), f"a silent NaN: {values}"
    return values


# ------------------------------------------------------------------------ strategies
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2 ** 40, -(2 ** 40)]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=4), st.lists(st.integers(-2, 2), max_size=3).map(tuple),
    st.just(object()), st.just([[1.0, 2.0], [3.0]]), st.just(np.float64("nan")),
    st.complex_numbers(max_magnitude=2, allow_nan=False, allow_infinity=False))


@st.composite
def bad_arrays(draw, n=12, d=4):
    """Arrays that are not ``(n, d)`` finite reals, and some that are."""
    kind = draw(st.sampled_from(["nonfinite", "shape", "dtype", "ragged", "scalar", "valid",
                                 "empty", "junk"]))
    X = np.random.default_rng(draw(st.integers(0, 2 ** 16))).uniform(0, 1, (n, d))
    if kind == "nonfinite":
        rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
        cols = draw(st.lists(st.integers(0, d - 1), min_size=len(rows), max_size=len(rows)))
        X[rows, cols] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return X
    if kind == "shape":
        shape = draw(st.sampled_from([(n,), (n, d + 1), (n, d - 1), (n, 1, d), (n, 2, 2)]))
        return np.zeros(shape) + 0.5
    if kind == "dtype":
        return X.astype(draw(st.sampled_from([np.complex64, object, str, bool])))
    if kind == "ragged":
        return [[0.5] * d, [0.5] * (d - 1)] * (n // 2)
    if kind == "scalar":
        return draw(st.sampled_from([0.5, None, "X", np.float64(np.nan)]))
    if kind == "empty":
        return np.zeros((0, d))
    if kind == "junk":
        return draw(JUNK)
    return X.astype(np.float32)


X_NAMES = ["X", "nan", "infinity", "features", "array", "sample", "dimension", "shape",
           "dtype", "real", "numbers", "numeric", "complex", "string", "float", "expected",
           "inhomogeneous", "estimator"]


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (60, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.7)
    return X, y


@pytest.fixture(scope="module")
def clf(data):
    return SpectralMLPClassifier(hidden_layer_sizes=(6,), max_epochs=3, batch_size=30,
                                 random_state=0).fit(*data)


@pytest.fixture(scope="module")
def wide(data):
    """Features wider than the input (volume_element needs d <= m)."""
    return SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(
        *data)


@pytest.fixture(scope="module")
def result(clf, data):
    return adversarial_distances(clf, data[0][:6], data[1][:6], random_state=0, **_ATTACK)


# ------------------------------------------------------------------------ estimators
def _check_predictions(clf, n):
    def check(out):
        assert len(out) == n
    return check


@fuzz({"X": bad_arrays(), "method": st.sampled_from(
    ["predict", "predict_proba", "transform", "score", "fit", "partial_fit"])})
def prop_estimator_methods_on_bad_X(clf, data, X, method):
    _, y = data

    def call():
        if method in ("fit", "partial_fit"):
            est = SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
            return getattr(est, method)(X, y[:len(X)] if hasattr(X, "__len__") else y)
        if method == "score":
            return clf.score(X, y[:12])
        return getattr(clf, method)(X)

    def check(out):
        if method == "predict":
            assert set(np.asarray(out)) <= set(clf.classes_)
        elif method == "predict_proba":
            np.testing.assert_allclose(finite(out).sum(axis=1), 1, rtol=1e-5)
        elif method == "transform":
            finite(out)
        elif method == "score":
            assert 0 <= finite(out) <= 1
        else:
            assert set(np.asarray(out.predict(np.asarray(X, np.float32)))) <= set(out.classes_)

    outcome(call, X_NAMES, check)


test_estimator_methods_on_bad_X, test_estimator_methods_on_bad_X_slow = \
    prop_estimator_methods_on_bad_X


@fuzz({"values": st.lists(st.sampled_from([np.nan, np.inf, -np.inf, 0.5]), min_size=1,
                          max_size=3),
       "index": st.integers(0, 11),
       "method": st.sampled_from(["fit", "predict", "predict_proba", "transform", "score",
                                  "adversarial_distances", "scorer"])})
def prop_dataset_items(clf, data, values, index, method):
    X, y = data
    X = X[:12].copy()
    X[index, :len(values)] = values
    items = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y[:12]))
    calls = {
        "fit": lambda: SpectralMLPClassifier(max_epochs=1, hidden_layer_sizes=(4,)).fit(items),
        "predict": lambda: clf.predict(items), "predict_proba": lambda: clf.predict_proba(items),
        "transform": lambda: clf.transform(items), "score": lambda: clf.score(items),
        "adversarial_distances": lambda: adversarial_distances(clf, items, **_ATTACK),
        "scorer": lambda: RobustnessScorer(n_samples=12, **_ATTACK)(clf, items, None),
    }
    bad = not np.isfinite(values).all()
    verdict = outcome(calls[method], [f"Item {index} of the dataset"],
                      lambda out: None if out is None or isinstance(out, SpectralMLPClassifier)
                      else finite(getattr(out, "distances", out)))
    assert verdict == ("refused" if bad else "returned")


test_dataset_items, test_dataset_items_slow = prop_dataset_items

_HYPERPARAMETERS = sorted(set(SpectralMLPClassifier._get_param_names())
                          - {"checkpoint_dir", "verbose", "distributed"})


@fuzz({"name": st.sampled_from(_HYPERPARAMETERS), "value": JUNK})
def prop_hyperparameters(data, name, value):
    X, y = data
    params = {"hidden_layer_sizes": (4,), "max_epochs": 1, "random_state": 0, name: value}
    if name == "max_epochs" and isinstance(value, int) and value > 3:
        params["max_epochs"] = 3  # junk may be a valid, long run: keep it short

    def check(est):
        proba = est.predict_proba(X)
        np.testing.assert_allclose(finite(proba).sum(axis=1), 1, rtol=1e-4)

    outcome(lambda: SpectralMLPClassifier(**params).fit(X, y), [name], check)


test_hyperparameters, test_hyperparameters_slow = prop_hyperparameters


@fuzz({"device": st.one_of(st.text(max_size=8), st.sampled_from(
    ["meta", "mps", "xla", "cuda:99", "cpu:0", "cpu", "hpu", "ipu", "vulkan"]))})
def prop_devices(data, device):
    if device.startswith("cuda") and torch.cuda.is_available() or device == "mps" and \
            torch.backends.mps.is_available():
        return
    outcome(lambda: SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1,
                                          device=device).fit(*data), ["device"])


test_devices, test_devices_slow = prop_devices


class _Noop(Callback):
    pass


@fuzz({"entries": st.lists(st.one_of(JUNK, st.just(_Noop()), st.just(("ok", _Noop())),
                                     st.tuples(st.text(max_size=3), JUNK)), max_size=3)})
def prop_callbacks(data, entries):
    outcome(lambda: SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1,
                                          callbacks=entries).fit(*data), ["callbacks"],
            lambda est: finite(est.predict_proba(data[0])))


test_callbacks, test_callbacks_slow = prop_callbacks


@fuzz({"y": st.one_of(
    st.lists(st.one_of(st.integers(0, 2), st.sampled_from(["a", "b"]), st.none(),
                       st.floats(allow_nan=True)), min_size=0, max_size=70),
    bad_arrays(n=60, d=1).map(lambda a: np.ravel(a) if hasattr(a, "shape") else a))})
def prop_labels(data, y):
    X, _ = data

    def check(est):
        assert set(est.predict(X)) <= set(est.classes_)

    outcome(lambda: SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1).fit(X, y),
            ["y", "label", "classes", "inconsistent", "samples", "nan", "type"], check)


test_labels, test_labels_slow = prop_labels


# ------------------------------------------------------------------------ attacks and metrics
@fuzz({"X": bad_arrays(n=4), "y": st.one_of(st.none(), JUNK, st.lists(
    st.one_of(st.integers(0, 2), st.just("a")), max_size=6)),
       "starts": st.one_of(st.none(), bad_arrays(n=4)),
       "attack": st.sampled_from([TangentAttack, HopSkipJump]),
       "param": st.sampled_from(sorted(TangentAttack._parameter_constraints)),
       "value": JUNK})
def prop_attack(clf, X, y, starts, attack, param, value):
    params = {**_ATTACK, "random_state": 0}
    if param not in ("verbose",):
        params[param] = value
    names = X_NAMES + ["y", "starting_points", param, "labels", "clip", "box"]

    def check(result):
        d = finite(result.distances)
        assert np.all(d >= 0)

    outcome(lambda: attack(**params).attack(clf, X, y, starting_points=starts), names, check)


test_attack, test_attack_slow = prop_attack


@fuzz({"X": bad_arrays(n=6), "y": st.one_of(st.none(), st.lists(st.integers(0, 2),
                                                                max_size=8)),
       "n_samples": st.one_of(st.none(), JUNK), "attack": st.one_of(
           st.sampled_from(["tangent", "hopskipjump"]), JUNK)})
def prop_adversarial_distances(clf, X, y, n_samples, attack):
    names = X_NAMES + ["y", "n_samples", "attack", "labels"]
    outcome(lambda: adversarial_distances(clf, X, y, n_samples=n_samples, attack=attack,
                                          random_state=0, **_ATTACK), names,
            lambda r: finite(r.distances))


test_adversarial_distances, test_adversarial_distances_slow = prop_adversarial_distances


@fuzz({"param": st.sampled_from(sorted(RobustnessScorer._parameter_constraints)),
       "value": JUNK, "estimator": st.sampled_from(["clf", "featurizer", "junk"]),
       "X": bad_arrays(n=10)})
def prop_scorer(clf, data, param, value, estimator, X):
    X_ok, y = data
    model = {"clf": clf, "featurizer": StandardScaler().fit(X_ok), "junk": 3}[estimator]
    params = {**_ATTACK, "n_samples": 3, param: value}
    if param == "statistic" and value == "robust_accuracy":
        params["eps"] = 0.1

    def check(score):
        assert math.isfinite(score) and score >= 0

    outcome(lambda: RobustnessScorer(**params)(model, X, y[:10]),
            X_NAMES + [param, "estimator", "predict", "y", "cannot query"], check)


test_scorer, test_scorer_slow = prop_scorer


_STEPS = {
    "standard": lambda: ("s", StandardScaler()), "minmax": lambda: ("m", MinMaxScaler()),
    "clip": lambda: ("c", MinMaxScaler(clip=True)), "pass": lambda: ("p", "passthrough"),
    "knn": lambda: ("k", KNeighborsClassifier(3)),
}


@fuzz({"middle": st.lists(st.sampled_from(sorted(_STEPS)), max_size=2),
       "head": st.sampled_from(["logistic", "knn", "none"]), "X": bad_arrays()})
def prop_certified_lower_bound(clf, data, middle, head, X):
    X_ok, y = data
    heads = {"logistic": LogisticRegression(), "knn": KNeighborsClassifier(3)}
    steps = [("feat", clf), *[_STEPS[m]() for m in middle]]
    if head == "none" and not middle:
        model = clf
    else:
        steps.append(("head", heads.get(head, LogisticRegression())))
        Z = clf.transform(X_ok)
        for _, step in steps[1:-1]:
            if step != "passthrough":
                Z = step.fit_transform(Z) if hasattr(step, "transform") else Z
        if all(step == "passthrough" or hasattr(step, "transform") for _, step in steps[1:-1]):
            steps[-1][1].fit(Z, y)
        model = Pipeline(steps)

    def check(bound):
        assert np.all(finite(bound) >= 0)

    outcome(lambda: certified_lower_bound(model, X),
            X_NAMES + ["step", "KNeighborsClassifier", "fitted", "linear"], check)


test_certified_lower_bound, test_certified_lower_bound_slow = prop_certified_lower_bound


@fuzz({"model": st.sampled_from(["wide", "module", "relu", "sklearn", "junk"]),
       "X": bad_arrays(n=3), "log": st.one_of(st.booleans(), JUNK),
       "batch_size": st.one_of(st.integers(-2, 3), JUNK)})
def prop_volume_element(wide, data, model, X, log, batch_size):
    models = {"wide": wide, "module": torch.nn.Linear(4, 6), "relu": torch.nn.ReLU(),
              "sklearn": LogisticRegression().fit(*data), "junk": "model"}

    def check(volume):
        assert np.all(finite(volume) >= 0) if not log else not np.isnan(volume).any()

    outcome(lambda: volume_element(models[model], X, log=log, batch_size=batch_size),
            X_NAMES + ["log", "batch_size", "volume_element", "fitted", "model", "feature map"],
            check)


test_volume_element, test_volume_element_slow = prop_volume_element


@fuzz({"method": st.sampled_from(["mean", "median", "quantile", "fraction_above",
                                  "robust_accuracy", "summary"]),
       "arg": st.one_of(JUNK, st.floats(-1, 2), st.lists(st.floats(allow_nan=True),
                                                         max_size=3))})
def prop_attack_result(result, method, arg):
    d = result.distances

    def check(out):
        if method == "robust_accuracy":
            assert out == float(np.mean(d > arg))
        elif method == "fraction_above":
            assert np.all((finite(out) >= 0) & (out <= 1))
        elif method == "quantile":
            assert np.all((finite(out) >= d[d > 0].min()) & (out <= d.max()))
        elif method in ("mean", "median"):
            finite(out)

    outcome(lambda: getattr(result, method)(arg),
            ["q", "eps", "thresholds", "misclassified"], check)


test_attack_result, test_attack_result_slow = prop_attack_result


# ------------------------------------------------------------------------ the rest
@fuzz({"param": st.sampled_from(["X", "y", "method", "cv", "every", "name", "batch_size"]),
       "value": st.one_of(JUNK, bad_arrays(n=12))})
def prop_feature_probe(data, param, value):
    X, y = data
    args = {"X": X[:12], "y": y[:12], "cv": 2, param: value}
    outcome(lambda: FeatureProbe(**args), [param, "FeatureProbe's"] + X_NAMES)


test_feature_probe, test_feature_probe_slow = prop_feature_probe


@fuzz({"n": JUNK, "noise": JUNK, "home": JUNK, "preset": st.one_of(st.text(max_size=8),
                                                                  JUNK)})
def prop_dataset_helpers(n, noise, home, preset):
    # 2**40 points per corner is a valid request that NumPy cannot allocate.
    outcome(lambda: make_xor(n, noise=noise, random_state=0), ["n_per_corner", "noise"],
            lambda out: finite(out[0]), tolerated=(MemoryError,))
    outcome(lambda: get_data_home(home), ["data_home"])
    outcome(lambda: paper_estimator(preset), ["preset"])


test_dataset_helpers, test_dataset_helpers_slow = prop_dataset_helpers


@fuzz({"which": st.sampled_from(["regions", "volume", "density", "fraction", "boxes",
                                 "norms", "examples"]),
       "a": st.one_of(JUNK, bad_arrays(n=4, d=2)), "b": JUNK})
def prop_plotting(clf, wide, result, data, which, a, b):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skspectral import plotting as P

    xor = SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    calls = {
        "regions": lambda: P.plot_decision_regions(xor.fit(*make_xor(2)), a, [0, 1, 1, 0],
                                                   resolution=b),
        "volume": lambda: P.plot_volume_element(torch.nn.Linear(2, 3), a, resolution=b),
        "density": lambda: P.plot_distance_density({"m": a}, bandwidth=b),
        "fraction": lambda: P.plot_fraction_above({"m": result}, thresholds=a),
        "boxes": lambda: P.plot_seed_boxes({"m": a}, ylabel="x"),
        "norms": lambda: P.plot_spectral_norms(a),
        "examples": lambda: P.plot_adversarial_examples(a, result, n=b),
    }
    try:
        outcome(calls[which], X_NAMES + ["resolution", "bounds", "bandwidth", "results",
                                         "thresholds", "values", "estimator", "fitted",
                                         "result", "image_shape", "'n'", "y", "history"])
    finally:
        plt.close("all")


test_plotting, test_plotting_slow = prop_plotting
