"""Probe the public API with bad and edge-case inputs; list every raw or silent answer.

Each case calls one public function or estimator method with one bad input and is judged:

- ``ok``: a ValueError or TypeError (scikit-learn's ``InvalidParameterError`` and
  ``NotFittedError`` are both) whose message names the input (one of the case's words);
- ``raw``: another exception type (IndexError, AttributeError, RuntimeError, StopIteration,
  ...), or a ValueError/TypeError whose message does not name the input (a message from
  inside torch or NumPy);
- ``silent``: no error, and a result holding NaN or not what the input asks for;
- ``returned``: no error and a finite result, for an input that should have been refused;
- ``correct``: an edge case with a defined answer (``words`` None), which the case checks.

It prints one line per case and the counts; ``--only-bad`` prints the raw, silent and
returned ones only. The models are tiny (a few seconds on one core).

    python benchmarks/probe_bad_input.py [--only-bad]
"""

import argparse
import math
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

import skspectral
from skspectral import (
    FeatureProbe,
    HopSkipJump,
    RobustnessScorer,
    SpectralBarlowTwins,
    SpectralClassifier,
    SpectralMLPClassifier,
    SpectralResNetClassifier,
    TangentAttack,
    adversarial_distances,
    certified_lower_bound,
    paper_estimator,
    volume_element,
)
from skspectral.datasets import get_data_home, make_xor

_FAST = {"max_iter": 2, "n_starts": 1, "start_iter": 0, "init_probes": 5, "max_halvings": 3}


class Items(torch.utils.data.Dataset):
    """A map-style dataset of ``(x, label)`` items."""

    def __init__(self, X, y=None):
        self.X, self.y = torch.as_tensor(X), y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i] if self.y is None else (self.X[i], self.y[i])


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Flatten())
        self.fc = torch.nn.Linear(2 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(self.body(x))


def setup():
    X, y = load_digits(return_X_y=True)
    X, y = (X / 16).astype(np.float32)[:120], y[:120]
    mlp = SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=2, batch_size=32,
                                random_state=0).fit(X, y)
    barlow = SpectralBarlowTwins(backbone="resnet18", max_epochs=1, batch_size=32,
                                 random_state=0, projector_sizes=(16,)) if False else None
    head = LogisticRegression(max_iter=200).fit(mlp.transform(X), y)
    return X, y, mlp, head, barlow


def nan_items(X, y, where=np.nan):
    bad = X.copy()
    bad[3, 5] = where
    return Items(bad, torch.as_tensor(y))


def cases(X, y, mlp, head):
    """``(name, call, words)``: ``words`` are what an error message must contain (any)."""
    Xn = X.copy()
    Xn[2, 0] = np.nan
    result = adversarial_distances(mlp, X[:4], y[:4], random_state=0, **_FAST)
    tiny = Pipeline([("feat", mlp), ("clf", head)])
    featurizer = SpectralMLPClassifier(hidden_layer_sizes=(16,), max_epochs=1,
                                       random_state=0).fit(X, y)
    lin = torch.nn.Linear(64, 80)
    yield "fit: Dataset item with NaN", lambda: SpectralMLPClassifier(max_epochs=1).fit(
        nan_items(X, y), None), ["Item 3"]
    yield "fit: Dataset item with inf", lambda: SpectralMLPClassifier(max_epochs=1).fit(
        nan_items(X, y, np.inf), None), ["Item 3"]
    yield "predict: Dataset item with NaN", lambda: mlp.predict(nan_items(X, y)), ["Item 3"]
    yield "predict_proba: Dataset item with inf", lambda: mlp.predict_proba(
        nan_items(X, y, -np.inf)), ["Item 3"]
    yield "transform: Dataset item with NaN", lambda: mlp.transform(nan_items(X, y)), \
        ["Item 3"]
    yield "score: Dataset item with NaN", lambda: mlp.score(nan_items(X, y), y), ["Item 3"]
    yield "adversarial_distances: Dataset item with NaN", lambda: adversarial_distances(
        mlp, nan_items(X, y), **_FAST), ["Item 3"]
    yield "RobustnessScorer: Dataset item with NaN", lambda: RobustnessScorer(
        n_samples=200, **_FAST)(mlp, nan_items(X, y), None), ["Item 3"]
    yield "fit: array with NaN", lambda: SpectralMLPClassifier(max_epochs=1).fit(Xn, y), \
        ["NaN"]
    for device in ["mps", "meta", "garbage", 3, "cuda:x", "xla"]:
        yield f"fit: device={device!r}", lambda d=device: SpectralMLPClassifier(
            max_epochs=1, device=d).fit(X, y), ["device"]
    for cb in [object(), 3, "probe", ("probe",), ("probe", object()), LogisticRegression()]:
        yield f"fit: callbacks=[{cb!r:.30}]", lambda c=cb: SpectralMLPClassifier(
            max_epochs=1, callbacks=[c]).fit(X, y), ["callbacks"]
    yield "fit: y shorter than X", lambda: SpectralMLPClassifier(max_epochs=1).fit(X, y[:-3]), \
        ["inconsistent", "y"]
    mixed = np.array(list(y[:60]) + ["a"] * 60, dtype=object)
    yield "fit: mixed-type y", lambda: SpectralMLPClassifier(max_epochs=1).fit(X, mixed), ["y"]
    mixed_int_str = [0, "1"] * 60
    yield "fit: y mixing int and str", lambda: SpectralMLPClassifier(max_epochs=1).fit(
        X, mixed_int_str), ["y"]
    yield "fit: y with NaN", lambda: SpectralMLPClassifier(max_epochs=1).fit(
        X, np.where(np.arange(120) == 5, np.nan, y)), ["y", "NaN"]
    yield "partial_fit: classes not holding y", lambda: SpectralMLPClassifier(
        max_epochs=1).partial_fit(X, y, classes=[0, 1]), ["classes", "y"]
    yield "score: y shorter", lambda: mlp.score(X, y[:-2]), ["inconsistent", "y"]
    yield "predict: wrong n_features", lambda: mlp.predict(X[:, :10]), ["features"]
    yield "adversarial_distances: y shorter than X", lambda: adversarial_distances(
        mlp, X[:6], y[:4], **_FAST), ["y"]
    yield "adversarial_distances: y shorter, n_samples", lambda: adversarial_distances(
        mlp, X[:6], y[:4], n_samples=3, random_state=0, **_FAST), ["y"]
    yield "adversarial_distances: mixed-type y", lambda: adversarial_distances(
        mlp, X[:4], np.array([0, "a", 1, 2], dtype=object), **_FAST), ["y"]
    yield "adversarial_distances: n_samples=0", lambda: adversarial_distances(
        mlp, X[:4], n_samples=0), ["n_samples"]
    yield "adversarial_distances: X ragged list", lambda: adversarial_distances(
        mlp, [[0.0] * 64, [0.0] * 3]), ["X"]
    yield "adversarial_distances: X complex", lambda: adversarial_distances(
        mlp, X[:3].astype(np.complex64), **_FAST), ["X"]
    yield "attack: all-NaN starting_points", lambda: TangentAttack(**_FAST).attack(
        mlp, X[:4], starting_points=np.full((4, 64), np.nan)), ["starting_points"]
    yield "attack: inf starting_points", lambda: HopSkipJump(**_FAST).attack(
        mlp, X[:4], starting_points=np.full((4, 64), np.inf)), ["starting_points"]
    yield "attack: model=3", lambda: TangentAttack(**_FAST).attack(3, X[:4]), ["model", "int"]
    yield "attack: unfitted LogisticRegression", lambda: TangentAttack(**_FAST).attack(
        LogisticRegression(), X[:4]), ["fitted", "LogisticRegression"]
    yield "attack: torch module, wrong width", lambda: TangentAttack(**_FAST).attack(
        torch.nn.Linear(10, 3), X[:4]), ["X", "shape"]
    yield "attack: y with NaN", lambda: TangentAttack(**_FAST).attack(
        mlp, X[:4], np.array([0, np.nan, 1, 2])), ["y"]
    yield "RobustnessScorer: featurizer with no predict", lambda: RobustnessScorer(
        n_samples=2, **_FAST)(_Featurizer(mlp), X[:10], y[:10]), ["predict", "featurizer"]
    yield "RobustnessScorer: eps=nan", lambda: RobustnessScorer(
        statistic="robust_accuracy", eps=np.nan)(mlp, X[:10], y[:10]), ["eps"]
    yield "RobustnessScorer: X with NaN", lambda: RobustnessScorer(n_samples=2, **_FAST)(
        mlp, Xn[:10], y[:10]), ["NaN"]
    yield "RobustnessScorer: estimator=3", lambda: RobustnessScorer(n_samples=2, **_FAST)(
        3, X[:10], y[:10]), ["estimator", "int"]
    yield "certified_lower_bound: Pipeline with KNN head", lambda: certified_lower_bound(
        Pipeline([("f", mlp), ("h", KNeighborsClassifier().fit(mlp.transform(X), y))]), X), \
        ["KNeighborsClassifier", "linear"]
    yield "certified_lower_bound: Pipeline with scaler between", lambda: _check_scaled(
        mlp, X, y), None
    yield "certified_lower_bound: 3-step Pipeline, KNN last", lambda: certified_lower_bound(
        Pipeline([("f", mlp), ("s", StandardScaler().fit(mlp.transform(X))),
                  ("h", KNeighborsClassifier().fit(mlp.transform(X), y))]), X), \
        ["KNeighborsClassifier", "linear"]
    yield "certified_lower_bound: LogisticRegression", lambda: certified_lower_bound(
        LogisticRegression().fit(X, y), X), ["LogisticRegression"]
    yield "certified_lower_bound: unfitted head", lambda: certified_lower_bound(
        Pipeline([("f", mlp), ("h", LogisticRegression())]), X), ["fitted", "LogisticReg"]
    yield "certified_lower_bound: head of wrong width", lambda: certified_lower_bound(
        Pipeline([("f", mlp), ("h", LogisticRegression().fit(X[:, :5], y))]), X), \
        ["features", "coef_"]
    yield "certified_lower_bound: X with NaN", lambda: certified_lower_bound(mlp, Xn), ["NaN"]
    yield "certified_lower_bound: torch module", lambda: certified_lower_bound(lin, X), \
        ["Linear"]
    yield "volume_element: sklearn model", lambda: volume_element(
        LogisticRegression().fit(X, y), X), ["LogisticRegression"]
    yield "volume_element: NaN input (module)", lambda: volume_element(lin, Xn[:4]), ["NaN"]
    yield "volume_element: NaN input (estimator)", lambda: volume_element(
        _wide(X, y), Xn[:4]), ["NaN"]
    yield "volume_element: batch_size=0", lambda: volume_element(lin, X[:4], batch_size=0), \
        ["batch_size"]
    yield "volume_element: batch_size=-1", lambda: volume_element(lin, X[:4], batch_size=-1), \
        ["batch_size"]
    yield "volume_element: module without parameters", lambda: _expect(
        volume_element(torch.nn.ReLU(), X[:4] + 0.5), np.ones(4)), None
    yield "volume_element: module, wrong input width", lambda: volume_element(
        torch.nn.Linear(5, 8), X[:4]), ["X", "shape"]
    yield "volume_element: unfitted estimator", lambda: volume_element(
        SpectralMLPClassifier(), X[:4]), ["fitted"]
    yield "volume_element: log='yes'", lambda: volume_element(lin, X[:4], log="yes"), ["log"]
    yield "volume_element: Pipeline of sklearn steps", lambda: volume_element(
        Pipeline([("s", StandardScaler().fit(X)), ("h", LogisticRegression().fit(X, y))]), X), \
        ["StandardScaler"]
    for eps in [-1, np.nan, "a", np.inf]:
        yield f"AttackResult.robust_accuracy({eps!r})", lambda e=eps: _expect(
            result.robust_accuracy(e), 0.0) if e == np.inf else result.robust_accuracy(e), \
            None if eps == np.inf else ["eps"]
    for q in [1.5, -0.1, np.nan, "a", [0.5, 2.0]]:
        yield f"AttackResult.quantile({q!r})", lambda q=q: _nan_check(result.quantile(q)), ["q"]
    yield "AttackResult.fraction_above(nan)", lambda: _nan_check(
        result.fraction_above(np.nan)), ["thresholds"]
    yield "AttackResult.summary(thresholds=['a'])", lambda: result.summary(["a"]), \
        ["thresholds"]
    yield "AttackResult.mean(misclassified='x')", lambda: result.mean("x"), ["misclassified"]
    yield "FeatureProbe(method='bad') at construction", lambda: FeatureProbe(
        X, y, method="bad"), ["method"]
    for name, kwargs in [("cv=1", {"cv": 1}), ("cv=0", {"cv": 0}), ("every=0", {"every": 0}),
                         ("batch_size=0", {"batch_size": 0}), ("name=3", {"name": 3}),
                         ("y short", {"y": y[:10]}), ("X NaN", {"X": Xn}),
                         ("X wrong width", {"X": X[:, :5]})]:
        args = {"X": X, "y": y, **kwargs}
        yield f"FeatureProbe({name}) in fit (before epoch 1)", lambda a=args: _probe_fit(
            X, y, a), [next(iter(kwargs))]
    yield "SpectralClassifier(features= the readout)", lambda: SpectralClassifier(
        module=Conv, features="fc", max_epochs=1).fit(X.reshape(-1, 1, 8, 8), y), ["features"]
    yield "SpectralClassifier(features='nope')", lambda: SpectralClassifier(
        module=Conv, features="nope", max_epochs=1).fit(X.reshape(-1, 1, 8, 8), y), \
        ["features"]
    yield "make_xor(n_per_corner=0)", lambda: make_xor(0), ["n_per_corner"]
    yield "make_xor(noise='a')", lambda: make_xor(1, noise="a"), ["noise"]
    yield "make_xor(noise=nan)", lambda: make_xor(1, noise=np.nan), ["noise"]
    yield "get_data_home(3)", lambda: get_data_home(3), ["data_home"]
    yield "paper_estimator('nope')", lambda: paper_estimator("nope"), ["preset"]
    yield "paper_estimator('xor', foo=1)", lambda: paper_estimator("xor", foo=1), ["foo"]
    yield "SpectralResNetClassifier fit: 1-D X", lambda: SpectralResNetClassifier(
        max_epochs=1).fit(X[:, 0], y), ["X", "2D", "dimension"]
    yield "SpectralBarlowTwins transform before fit", lambda: SpectralBarlowTwins().transform(
        X), ["fitted"]
    yield from plotting_cases(X, y, mlp, result, featurizer, tiny, lin)


def plotting_cases(X, y, mlp, result, featurizer, tiny, lin):
    import matplotlib
    matplotlib.use("Agg")
    from skspectral import plotting as P
    X2, y2 = make_xor(5, noise=0.1, random_state=0)
    xor = SpectralMLPClassifier(hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(
        X2, y2)
    yield "plot_decision_regions: resolution=0", lambda: P.plot_decision_regions(
        xor, X2, y2, resolution=0), ["resolution"]
    yield "plot_decision_regions: bounds NaN", lambda: P.plot_decision_regions(
        xor, X2, y2, bounds=((np.nan, 1), (0, 1))), ["bounds"]
    yield "plot_decision_regions: X NaN", lambda: P.plot_decision_regions(
        xor, np.full((4, 2), np.nan), y2[:4]), ["NaN", "X"]
    yield "plot_decision_regions: y short", lambda: P.plot_decision_regions(
        xor, X2, y2[:3]), ["y"]
    yield "plot_decision_regions: bounds='a'", lambda: P.plot_decision_regions(
        xor, X2, y2, bounds="a"), ["bounds"]
    yield "plot_volume_element: resolution=-1", lambda: P.plot_volume_element(
        _wide(X2, y2), ((0, 1), (0, 1)), resolution=-1), ["resolution"]
    yield "plot_volume_element: bounds inf", lambda: P.plot_volume_element(
        _wide(X2, y2), ((0, np.inf), (0, 1)), resolution=3), ["bounds"]
    yield "plot_distance_density: NaN distances", lambda: P.plot_distance_density(
        {"a": [np.nan, 1.0, 2.0]}), ["NaN", "a"]
    yield "plot_distance_density: bandwidth=-1", lambda: P.plot_distance_density(
        {"a": [1.0, 2.0, 3.0]}, bandwidth=-1), ["bandwidth"]
    yield "plot_distance_density: results=[1, 2]", lambda: P.plot_distance_density(
        [1.0, 2.0]), ["results"]
    yield "plot_fraction_above: thresholds NaN", lambda: P.plot_fraction_above(
        {"a": result}, thresholds=[np.nan, 1.0]), ["thresholds"]
    yield "plot_seed_boxes: NaN value", lambda: P.plot_seed_boxes({"a": [1.0, np.nan]}), \
        ["NaN", "a"]
    yield "plot_seed_boxes: empty", lambda: P.plot_seed_boxes({}), ["values"]
    yield "plot_seed_boxes: list", lambda: P.plot_seed_boxes([1.0, 2.0]), ["values"]
    yield "plot_spectral_norms: LogisticRegression", lambda: P.plot_spectral_norms(
        LogisticRegression()), ["LogisticRegression", "estimator"]
    yield "plot_spectral_norms: unfitted", lambda: P.plot_spectral_norms(
        SpectralMLPClassifier()), ["fitted"]
    yield "plot_adversarial_examples: n=0", lambda: P.plot_adversarial_examples(
        X[:4], result, n=0), ["n"]
    yield "plot_adversarial_examples: image_shape wrong", lambda: P.plot_adversarial_examples(
        X[:4], result, image_shape=(3, 3)), ["image_shape"]
    yield "plot_adversarial_examples: result=3", lambda: P.plot_adversarial_examples(
        X[:4], 3), ["result"]
    yield "plot_adversarial_examples: X shorter than result", lambda: \
        P.plot_adversarial_examples(X[:1], result), ["X", "result"]


class _Featurizer:
    """A featurizer: transform and no predict."""

    def __init__(self, est):
        self.est = est

    def transform(self, X):
        return self.est.transform(X)


def _wide(X, y):
    """A fitted MLP whose features are wider than its input."""
    return SpectralMLPClassifier(hidden_layer_sizes=(80,), max_epochs=1, random_state=0).fit(
        X, y) if X.shape[1] == 64 else SpectralMLPClassifier(
        hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X, y)


def _check_scaled(mlp, X, y):
    """The bound of featurizer -> StandardScaler -> head is that of the head with the
    scaler folded in (W / scale, b - W mean / scale)."""
    Z = mlp.transform(X)
    scaler = StandardScaler().fit(Z)
    head = LogisticRegression(max_iter=500).fit(scaler.transform(Z), y)
    bound = certified_lower_bound(Pipeline([("f", mlp), ("s", scaler), ("h", head)]), X)
    folded = LogisticRegression().fit(Z, y)
    folded.coef_ = head.coef_ / scaler.scale_
    folded.intercept_ = head.intercept_ - folded.coef_ @ scaler.mean_
    return _expect(bound, certified_lower_bound(Pipeline([("f", mlp), ("h", folded)]), X))


def _expect(got, expected):
    """``CORRECT`` where ``got`` equals ``expected`` (to float64 rounding), else NaN."""
    return CORRECT if np.allclose(got, expected, rtol=1e-9, atol=0) else math.nan


CORRECT = "correct"


def _probe_fit(X, y, args):
    epochs = []

    class Count(Callback):
        def on_epoch_end(self, net, **kw):
            epochs.append(1)

    try:
        SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=2, random_state=0,
                              callbacks=[("count", Count()), ("probe", FeatureProbe(**args))]
                              ).fit(X, y)
    except Exception as exc:
        if epochs:
            raise RuntimeError(f"refused only after {len(epochs)} epoch(s): "
                               f"{type(exc).__name__}: {exc}") from exc
        raise
    return None


def _nan_check(value):
    return value


def judge(call, words):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if words is None:
            return "raw", f"{type(exc).__name__} where a result was due: {message[:100]}"
        if any(w.lower() in message.lower() for w in words):
            return "ok", f"{type(exc).__name__}: {message[:110]}"
        return "raw", f"{type(exc).__name__} not naming {words}: {message[:110]}"
    except Exception as exc:  # noqa: BLE001 - the point is to list every other type
        return "raw", f"{type(exc).__name__}: {str(exc)[:110]}"
    if words is None:
        return ("correct", "the defined answer") if isinstance(out, str) and out == CORRECT \
            else ("silent", f"a wrong answer: {out!r:.60}")
    values = out if isinstance(out, tuple) else (out,)
    for v in values:
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            continue
        if np.isnan(arr).any():
            return "silent", f"returned NaN: {np.ravel(arr)[:4]}"
    return "returned", f"returned {type(out).__name__}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only-bad", action="store_true", help="print raw/silent/returned")
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y, mlp, head, _ = setup()
    counts = {}
    for name, call, words in cases(X, y, mlp, head):
        verdict, detail = judge(call, words)
        counts[verdict] = counts.get(verdict, 0) + 1
        if verdict not in ("ok", "correct") or not args.only_bad:
            print(f"{verdict:8s} {name:55s} {detail}")
    total = sum(counts.values())
    print(f"\n{total} cases (skspectral {skspectral.__version__}): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
