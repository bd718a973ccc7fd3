"""The engine shared by decision-based L2 attacks, batched over samples and probes.

All samples advance together, one stage at a time; every stage makes one batched oracle call
(chunked by the oracle's ``batch_size``) over the samples that still take part. Each sample
has its own query counter and budget, so samples whose searches take more or fewer queries
drop out individually; a query is only ever made for a sample with budget left.

An attack instance holds only its parameters; each ``attack`` call keeps its state in its
own ``_AttackRun``, whose ``classify`` makes and counts every query.
"""

import inspect
import math
import textwrap
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from tqdm.auto import tqdm

from .._checks import check_array, check_labels
from .._params import CONSTRAINTS, PositiveInts, StrictInterval, store_params, validate
from .._threads import worker_thread_limits
from ._oracle import as_oracle
from ._result import AttackResult
from ._subspace import LowFrequencySubspace

__all__ = ["DecisionAttack"]


def with_parameters(entries):
    """Class decorator: replace the ``{parameters}`` line of the class's docstring by a numpydoc
    Parameters section, one entry per name of ``entries`` in the class's signature, in the
    signature's order, each ``default=`` read from the signature (a subclass may choose
    other defaults); ``entries`` maps a name to ``(type, description)``.

    The one source of the attacks' parameter documentation: every attack's page shows the
    same text. The docstring is cleaned first (``inspect.cleandoc``), so the section needs no
    indentation on any Python version.
    """
    def decorate(cls):
        lines = []
        for name, param in inspect.signature(cls).parameters.items():
            if name in entries:
                kind, text = entries[name]
                value = param.default
                shown = f'"{value}"' if isinstance(value, str) else repr(value)
                lines += [f"{name} : {kind}, default={shown}",
                          textwrap.indent(textwrap.dedent(text).strip(), "    ")]
        section = "\n".join(["Parameters", "----------", *lines])
        doc = inspect.cleandoc(cls.__doc__)
        if "{parameters}" not in doc:
            raise TypeError(f"{cls.__name__}'s docstring has no '{{parameters}}' line.")
        cls.__doc__ = doc.replace("{parameters}", section)
        return cls
    return decorate


#: The documentation of every decision-based attack's parameters: ``name: (type, text)``.
PARAMETERS = {
    "clip_min": ("float", """
        Lower bound of the input box; every query lies in the box."""),
    "clip_max": ("float", """
        Upper bound of the input box, > ``clip_min``."""),
    "max_iter": ("int", """
        Boundary-walking iterations per sample (each: a normal estimate, a step, a binary
        search); more give smaller distances at more queries."""),
    "max_queries": ("int or None", """
        Per-sample budget, counted exactly (one query = one point classified), including
        the first query of the clean sample and the final checks of the returned point (four
        queries are kept back for them: the point in the batch and alone, then, only where
        one of these fails, a further pushed point in the batch and alone). At least 6.
        None: no budget."""),
    "init_probes": ("int", """
        Probes of the first iteration's normal estimate (the published attacks use 100;
        docs/robustness.md compares the defaults)."""),
    "max_probes": ("int", """
        Cap on the probes of one iteration's normal estimate (which grow as
        ``init_probes * sqrt(i)``)."""),
    "binary_search_tol": ("float or None", """
        Precision of boundary binary searches, in units of the segment's length; None uses
        ``min(1 / (d * sqrt(d)), 1e-4)``: HopSkipJump's theta (gamma = 1, d the input
        dimension), which alone would be coarse in low dimensions (0.35 at d = 2)."""),
    "n_starts": ("int", """
        Adversarial starts explored per sample; ``n_starts=1, init_probes=100`` (with the
        Gaussian start) is the published algorithm."""),
    "start_iter": ("int", """
        Iterations every start runs before the closest is kept (with ``n_starts > 1``)."""),
    "start": ('{"gaussian", "low-frequency", "uniform", "blended"}', """
        How candidate starts are drawn, ``init_batch`` per round until a round holds an
        adversarial one; the ``n_starts`` closest adversarial candidates of that round are
        kept (see ``diverse_starts``). ``"uniform"``: points uniform in the box.
        ``"gaussian"``: the published start, ``x + N(0, s^2 I)`` clipped to the box,
        ``s = start_scale * (clip_max - clip_min)`` (the paper keeps the closest
        label-changing draw; the authors' code the first). ``"low-frequency"``, for
        images: ``x + s sqrt(d) u`` clipped to the box, ``u`` uniform on the unit sphere of
        the DCT subspace of the lowest ``max(2, ceil(n / 10))`` frequencies of each spatial
        dimension of length ``n`` (per channel; ``d`` values per sample, so the offset has
        the Gaussian start's typical norm): smooth offsets, which reach the regions of more
        classes than white noise of the same norm does, so ``diverse_starts`` finds the
        closest class's boundary more often (it needs ``image_shape`` for flattened
        images, as ``subspace`` does). ``"blended"``: uniform points,
        each adversarial one then moved to its first adversarial blend
        ``x + t (point - x)``, ``t = 1/L, ..., 1`` with ``L = blend_steps`` (foolbox's
        ``LinearSearchBlendedUniformNoiseAttack``), which ranks the candidates by how close
        their segment comes to the boundary, at ``L - 1`` queries per adversarial draw. A
        sample without an adversarial candidate after ``init_trials`` draws starts from the
        closest other sample of the batch that the model labels differently (the published
        code's fallback: another class's image); a sample with neither gets an infinite
        distance."""),
    "start_scale": ("float", """
        Standard deviation of ``start="gaussian"`` (per value) and of
        ``start="low-frequency"`` (its norm over ``sqrt(d)``), in units of the box's
        width."""),
    "blend_steps": ("int", """
        Line-search steps of ``start="blended"``."""),
    "init_trials": ("int", """
        Candidate starts drawn per sample at most, in rounds of ``init_batch``."""),
    "init_batch": ("int", """
        Candidate starts drawn per sample per round."""),
    "diverse_starts": ("bool", """
        Keep, of the round's adversarial candidates, the closest of each label the model
        gives them first (closest first), then the closest others, instead of the
        ``n_starts`` closest. A boundary-walking attack converges to the nearest point of
        the boundary it starts on, and the closest candidates often share one label (the
        class that noise falls into) whose boundary is not the nearest: where the attack
        ends far above the minimal distance, it has converged on another class's boundary.
        Starts on several classes' boundaries let the exploration keep the nearest; it
        pays with a larger ``init_batch`` (more labels among the candidates)."""),
    "max_halvings": ("int", """
        Cap on the step-size halvings of one step search."""),
    "subspace": ("float in (0, 1] or None", """
        For images: draw the normal-estimation probes in the low-frequency DCT subspace
        that keeps, per channel, the lowest ``ceil(subspace * n)`` frequencies of each
        spatial dimension of length ``n`` (GeoDA's, SurFree's and CGBA's subspace; CGBA's
        ``dim_reduc_factor=4`` is ``subspace=0.25``), uniform on its unit sphere. The
        normal estimate, and so every step, then lies in the subspace; the starts and the
        binary searches do not. None: probes in all ``d`` dimensions. Vector data have no
        spatial frequencies: ``attack`` refuses a subspace for 1-D samples unless
        ``image_shape`` says how they are images."""),
    "image_shape": ("tuple of int or None", """
        Channels-first shape ``(H, W)``, ``(C, H, W)`` or ``(C, D, H, W)`` of one sample as
        an image, for ``subspace`` and ``start="low-frequency"`` (e.g. ``(28, 28)`` for an
        MLP that takes flattened MNIST rows); its product must be the number of values per
        sample. None: the model's input shape where it takes images, else the shape of
        ``X``'s samples. Unused without either."""),
    "batch_size": ("int", """
        Largest number of points per model call."""),
    "random_state": ("int, RandomState instance or None", """
        Seeds the start and probe draws: the same integer gives the same result."""),
    "verbose": ("int", """
        1 shows a progress bar over iterations."""),
}


@with_parameters(PARAMETERS)
class DecisionAttack(BaseEstimator, ABC):
    """Base of the decision-based (hard-label) L2 attacks; subclasses define ``_step``.

    Algorithm: (1) find adversarial starts per sample by random draws (``start``; in rounds
    of ``init_batch``; the ``n_starts`` closest adversarial draws of the first round that
    finds any, or with ``diverse_starts`` the closest of each label first); (2)
    binary-search the segment from the sample to each start onto the boundary; (3) for
    ``i = 1 .. max_iter``: estimate the boundary normal at the boundary point from
    ``min(int(init_probes * sqrt(i)), max_probes)`` random probes of radius ``delta``
    (``0.1 * (clip_max - clip_min)`` at ``i = 1``, else ``|x_b - x| / d``), take the
    subclass's step to a new adversarial point, and binary-search back to the boundary.
    With ``n_starts > 1`` all starts run the first ``start_iter`` iterations and only the
    closest goes on. The smallest adversarial point seen is returned.

    Random draws are shared by the samples: one round of start draws, and one set of probe
    directions per iteration, serves every sample. Each sample's draws are still i.i.d.
    (Gaussian around the sample or uniform in the box, uniform on the sphere) and independent
    of its own past, so each sample's attack has exactly the law of the published one-sample
    algorithm, and a sample gets the same result alone as in any batch (same
    ``random_state``; except where its start falls back to another sample of the batch, see
    ``start``): all per-sample arithmetic is row-wise, so with an oracle that labels each
    point independently of its batch, every label, query count and success flag is
    identical, and distances agree to float32 rounding. Sharing saves drawing
    ``samples * probes * d`` Gaussians per iteration (a cost of the order of the model's);
    the samples' results are correlated through the shared draws, so a mean over samples
    varies a little more from one ``random_state`` to the next.

    Why several starts: a multiclass model's region around a sample is bounded by several
    class boundaries, and a boundary-walking attack converges to the nearest point of the
    boundary it started on, which need not be the nearest boundary. A few starts explored
    for a few cheap iterations find it far more often (see the tests on linear models).

    An instance holds only its parameters (each call keeps its own state), so one instance
    may attack from several threads at once, and a call that raises leaves it as it was.

    {parameters}

    Raises
    ------
    ValueError
        At ``attack``, if a parameter is out of range, ``clip_min >= clip_max``, or
        ``subspace`` is set for samples that are not images (see ``image_shape``).

    See Also
    --------
    skspectral.attacks.HopSkipJump : The geometric step along the estimated normal.
    skspectral.attacks.TangentAttack : The step to a hemisphere's tangent point.
    skspectral.adversarial_distances : Attack an estimator's test set in one call.

    Examples
    --------
    The concrete attacks differ only in their step; on a linear model, whose exact
    distance to the boundary is known, both find it:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skspectral.attacks import DecisionAttack, HopSkipJump
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 5)); y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> attack = HopSkipJump(-3, 3, max_iter=10, random_state=0)
    >>> isinstance(attack, DecisionAttack)
    True
    >>> result = attack.attack(clf, X[:5], y[:5])
    >>> exact = np.abs(clf.decision_function(X[:5])) / np.linalg.norm(clf.coef_)
    >>> (result.distances / exact).round(2)
    array([1., 1., 1., 1., 1.])
    """

    def __init__(self, clip_min=0.0, clip_max=1.0, *, max_iter=40, max_queries=None,
                 init_probes=75, max_probes=10_000, binary_search_tol=None, n_starts=5,
                 start_iter=5, start="gaussian", start_scale=0.5, blend_steps=10,
                 init_trials=100, init_batch=10, diverse_starts=False, max_halvings=20,
                 subspace=None, image_shape=None, batch_size=10_000, random_state=None,
                 verbose=0):
        store_params(self, locals())

    # ------------------------------------------------------------------ checks
    #: Declarative constraints (see :mod:`skspectral._params`), checked by ``attack``.
    _parameter_constraints = {
        "clip_min": [StrictInterval(Real, -math.inf, math.inf, closed="neither")],
        "clip_max": [StrictInterval(Real, -math.inf, math.inf, closed="neither")],
        "max_iter": [StrictInterval(Integral, 0, None, closed="left")],
        "max_queries": [StrictInterval(Integral, 6, None, closed="left"), None],
        "init_probes": [StrictInterval(Integral, 1, None, closed="left")],
        "max_probes": [StrictInterval(Integral, 1, None, closed="left")],
        "binary_search_tol": [StrictInterval(Real, 0, 1, closed="neither"), None],
        "n_starts": [StrictInterval(Integral, 1, None, closed="left")],
        "start_iter": [StrictInterval(Integral, 0, None, closed="left")],
        "start": [StrOptions({"uniform", "gaussian", "low-frequency", "blended"})],
        "start_scale": [StrictInterval(Real, 0, math.inf, closed="neither")],
        "blend_steps": [StrictInterval(Integral, 1, None, closed="left")],
        "init_trials": [StrictInterval(Integral, 1, None, closed="left")],
        "init_batch": [StrictInterval(Integral, 1, None, closed="left")],
        "diverse_starts": ["boolean"],
        "max_halvings": [StrictInterval(Integral, 0, None, closed="left")],
        "subspace": [StrictInterval(Real, 0, 1, closed="right"), None],
        "image_shape": [PositiveInts(), None],
        "batch_size": [StrictInterval(Integral, 1, None, closed="left")],
        "random_state": CONSTRAINTS["random_state"],
        "verbose": CONSTRAINTS["verbose"],
    }

    def _check_params(self):
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate(type(self).__name__, self._parameter_constraints, params)
        if not self.clip_min < self.clip_max:
            raise ValueError(f"clip_min must be < clip_max, got {self.clip_min} and "
                             f"{self.clip_max}.")

    def _check_image_shape(self, sample_shape):
        """The image shape the probes' subspace and low-frequency starts are built on (None
        where neither is asked for)."""
        if self.subspace is None and self.start != "low-frequency":
            return None
        shape = tuple(sample_shape if self.image_shape is None else self.image_shape)
        if self.image_shape is not None and (len(shape) < 2 or math.prod(shape)
                                             != math.prod(sample_shape)):
            raise ValueError(f"image_shape must be a tuple of at least two positive integers "
                             f"whose product is the {math.prod(sample_shape)} values of a "
                             f"sample, got {self.image_shape!r}.")
        if len(shape) < 2:
            asked = (f"subspace={self.subspace!r} draws probes" if self.subspace is not None
                     else "start='low-frequency' draws starts")
            undo = "subspace=None" if self.subspace is not None else "another start"
            raise ValueError(f"{asked} in a low-frequency subspace of images, but the samples "
                             f"are vectors (shape {shape}); pass image_shape (e.g. (28, 28) "
                             f"for flattened MNIST), image-shaped X, or {undo}.")
        return shape

    # ------------------------------------------------------------------ step rule
    #: Worst-case number of candidates (and of halving searches) one ``_step`` makes.
    _n_candidates = 1
    #: Whether ``_step``'s candidates are boundary points already (its own search found
    #: them), which then skip the binary search back along the ray from the sample.
    _on_boundary = False

    @abstractmethod
    def _step(self, run, x, x_b, normal, dist, i, rows):
        """Candidate moves of iteration ``i``: a list of ``(points, ok)``, adversarial points
        where ``ok``.

        ``run`` is the call's :class:`_AttackRun`, whose searches make and charge the queries.
        Each candidate is binary-searched back to the boundary (unless ``_on_boundary``) and
        the closest result per track becomes the new boundary point. At most
        ``_n_candidates`` searches, each of at most ``max_halvings + 1 + bs_steps`` queries
        with the binary search (``run.bs_steps``).
        """

    # ------------------------------------------------------------------ driver
    @worker_thread_limits()  # Dask tasks: torch/BLAS threads of the task
    def attack(self, model, X, y=None, *, starting_points=None):
        """Attack every sample of ``X``.

        Parameters
        ----------
        model : estimator, Pipeline, torch module, callable or LabelOracle
            See :func:`~skspectral.attacks.as_oracle`.
        X : array-like or torch.Tensor of shape (n_samples, ...)
            Samples, each of the model's input shape, inside ``[clip_min, clip_max]``.
        y : array-like of shape (n_samples,) or None, default=None
            True labels; None attacks the model's own predictions. Samples the model
            already misclassifies get distance 0.
        starting_points : array-like of the shape of X or None, default=None
            Adversarial points to start from (instead of random draws); a sample whose
            starting point is not adversarial falls back to random draws. Each costs one query.

        Returns
        -------
        AttackResult
            Per-sample distances, adversarial points, success flags and query counts.

        Raises
        ------
        ValueError
            If a parameter is out of range, X lies outside the box or is not finite, or y or
            ``starting_points`` do not match X.
        """
        # Validated on each call, as ``fit`` does; not with ``sklearn.base._fit_context``,
        # which wraps a method that fits state on the estimator, and an attack fits none.
        self._check_params()
        X = _check_X(X, self.clip_min, self.clip_max)
        oracle = as_oracle(model, X.shape[1:], batch_size=self.batch_size)
        _check_sample_shape(X.shape[1:], oracle.input_shape)
        image_shape = self._check_image_shape(
            oracle.input_shape if len(oracle.input_shape) > 1 else X.shape[1:])
        y = None if y is None else _check_y(y, len(X))
        given = None if starting_points is None else _check_starting_points(starting_points,
                                                                             X.shape)
        # All state of the call lives in the run, which is closed (its progress bar, its
        # oracle dropped) even on error: the instance keeps only its parameters.
        with _AttackRun(self, oracle, X, image_shape) as run:
            correct = run.label_samples(y)
            starts, count = run.find_starts(correct, given)
            best, best_dist = run.explore_starts(starts, count)
            best, best_dist = run.descend(best, best_dist, found=count > 0)
            return run.confirm(best, best_dist, correct)


class _AttackRun:
    """The state of one :meth:`DecisionAttack.attack` call and the stages acting on it.

    Everything a call creates lives here, not on the attack: the oracle (which may hold a
    copy of the model), the random generators, each sample's label, query counter, budget
    and stop flag, the tracks and the progress bar. :meth:`close` (run by ``with``, also on
    error) closes the bar and drops the oracle.

    The attack state is a set of *tracks* (one boundary search each), owned by samples:
    several tracks per sample while multiple starts are explored, one afterwards. Every
    query is made by :meth:`classify`, which charges it to the owner of its track. Before every
    stage a sample must afford the stage's worst-case cost for all its tracks, or it stops
    for good: so a run with budget B is the unlimited run cut at a stage boundary, budgets
    are never exceeded, and a larger budget never returns a larger distance (same
    ``random_state``).

    Parameters
    ----------
    attack : DecisionAttack
        Its parameters, and its step rule (``_step``).
    oracle : LabelOracle
    X : ndarray of shape (n_samples, *input_shape)
        The checked samples.
    image_shape : tuple of int or None
        The samples' image shape for a probe subspace; None: probes in all dimensions.
    """

    def __init__(self, attack, oracle, X, image_shape=None):
        self.attack = attack
        self.oracle = oracle
        self.shape = X.shape
        device = oracle.device
        seeds = check_random_state(attack.random_state).randint(np.iinfo(np.int32).max, size=2)
        self.gen_start, self.gen_probe = (torch.Generator(device=device).manual_seed(int(s))
                                          for s in seeds)
        self.x = torch.as_tensor(X, dtype=torch.float32, device=device).flatten(1)
        n, self.dim = self.x.shape
        tol = (attack.binary_search_tol if attack.binary_search_tol is not None
               else min(1.0 / (self.dim * math.sqrt(self.dim)), 1e-4))
        self.bs_steps = math.ceil(math.log2(1.0 / tol))
        self.subspace = (None if attack.subspace is None else
                         LowFrequencySubspace(image_shape, attack.subspace, device, self.x.dtype))
        self.start_subspace = (None if attack.start != "low-frequency" else
                               LowFrequencySubspace(image_shape, 0.1, device, self.x.dtype,
                                                    at_least=2))
        # Queries kept back per sample to re-check the returned point.
        cap = (np.iinfo(np.int64).max if attack.max_queries is None
               else attack.max_queries - 2 * len(_CHECK_PUSHES))
        self.budget = torch.full((n,), cap, dtype=torch.int64, device=device)
        self.queries = torch.zeros(n, dtype=torch.int64, device=device)
        self.stopped = torch.zeros(n, dtype=torch.bool, device=device)
        # Iterations run by every start before the closest goes on alone.
        self.n_explore = (min(attack.start_iter, attack.max_iter) if attack.n_starts > 1
                          else 0)
        self.sample_label = self.clean = self.bar = None
        self.set_tracks(torch.arange(n, device=device))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the progress bar and drop the oracle (it may hold a copy of the model)."""
        if self.bar is not None:
            self.bar.close()
        self.oracle = None

    # ------------------------------------------------------------------ queries
    def set_tracks(self, owner):
        """Make the tracks those of ``owner`` (the sample of each track)."""
        self.owner = owner
        self.label = None if self.sample_label is None else self.sample_label[owner]

    def classify(self, points, tracks, per_track=1):
        """Label codes of ``points``: ``per_track`` consecutive points for each track of
        ``tracks`` (indices), each charged as one query to the track's owner.

        The only place the oracle is asked, so the counts are the points it classified.
        """
        codes = self.oracle(points)
        owners = self.owner[tracks]
        self.queries.index_add_(0, owners, torch.full_like(owners, per_track))
        return codes

    def afford(self, rows, cost):
        """``rows`` restricted to samples that can pay ``cost`` queries per track in ``rows``."""
        need = torch.zeros_like(self.queries).index_add_(0, self.owner, rows.long()) * cost
        self.stopped |= (need > 0) & (self.budget - self.queries < need)
        return rows & ~self.stopped[self.owner]

    def is_adversarial(self, points, rows):
        """Is ``points[k]`` adversarial, for the tracks in ``rows`` (else False)."""
        adv = torch.zeros(len(points), dtype=torch.bool, device=points.device)
        if rows.any():
            idx = rows.nonzero().squeeze(1)
            adv[idx] = self.classify(points[idx], idx) != self.label[idx]
        return adv

    def running(self):
        return ~self.stopped[self.owner]

    def clip(self, x):
        return x.clamp_(self.attack.clip_min, self.attack.clip_max)

    # ------------------------------------------------------------------ phases
    def label_samples(self, y):
        """Query the clean samples and set the labels to attack (``y``, or the model's own
        labels where None); returns which samples the model classifies correctly."""
        self.clean = self.classify(self.x, torch.arange(len(self.x), device=self.x.device))
        self.sample_label = self.clean if y is None else _encode_labels(self.oracle, y)
        self.label = self.sample_label
        return self.clean == self.sample_label

    def find_starts(self, active, given=None):
        """Up to ``n_starts`` adversarial starts per sample, closest first: (starts, count).

        Where ``given`` (an array of the samples' shape) holds an adversarial point for a
        sample, it is that sample's only start. Otherwise rounds of ``init_batch`` draws of
        the ``start`` method until a round finds one (at most ``init_trials`` draws); then,
        for a sample still without one, the closest other sample of the batch that the
        model labels differently.
        """
        a, x = self.attack, self.x
        n, d = x.shape
        starts = torch.full((n, a.n_starts, d), float("nan"), device=x.device, dtype=x.dtype)
        count = torch.zeros(n, dtype=torch.int64, device=x.device)
        if given is not None:
            # Out of place: the tensor may share memory with the caller's array.
            given = torch.as_tensor(given, device=x.device).flatten(1).clamp(a.clip_min,
                                                                             a.clip_max)
            self._take_starts(starts, count, given, active)
        self._draw_rounds(starts, count, active)
        # The published code's fallback: another class's image, here the closest sample of
        # the batch with another clean label.
        lost = active & (count == 0) & self.running()
        if lost.any():
            rows = lost.nonzero().squeeze(1)
            other = self.clean[None, :] != self.label[rows, None]
            gap = torch.where(other, torch.cdist(x[rows], x), float("inf"))
            nearest = torch.zeros(n, dtype=torch.int64, device=x.device)
            nearest[rows] = gap.argmin(dim=1)
            lost[rows] = other.any(dim=1)
            self._take_starts(starts, count, x[nearest], lost)
        return starts, count

    def _take_starts(self, starts, count, points, rows):
        """Make ``points[k]`` the only start of each sample ``k`` of ``rows`` where it is
        adversarial (one query each)."""
        adv = self.is_adversarial(points, self.afford(rows, 1))
        starts[adv, 0] = points[adv]
        count[adv] = 1

    def _draw_rounds(self, starts, count, active):
        """Rounds of ``init_batch`` drawn starts for the samples of ``active`` still without
        one, until a round finds one (at most ``init_trials`` draws); fills ``starts`` with
        the ``n_starts`` kept, closest (or most diverse) first, and ``count``."""
        a, x = self.attack, self.x
        d = x.shape[1]
        drawn = 0
        per_draw = a.blend_steps if a.start == "blended" else 1
        while drawn < a.init_trials:
            k = min(a.init_batch, a.init_trials - drawn)
            todo = self.afford(active & (count == 0) & self.running(), k * per_draw)
            if not todo.any():
                break
            drawn += k
            idx = todo.nonzero().squeeze(1)
            draws = self._draw_starts(x[idx], k)
            labels = self.classify(draws.reshape(-1, d), idx, k).reshape(len(idx), k)
            adv = labels != self.label[idx, None]
            if a.start == "blended":
                draws, labels = self._blend(x[idx], draws, adv, labels, idx)
            dist = torch.where(adv, (draws - x[idx, None]).norm(dim=2), float("inf"))
            order = (_diverse_order(dist, labels) if a.diverse_starts
                     else dist.argsort(dim=1))[:, :a.n_starts]
            m = order.shape[1]
            starts[idx, :m] = torch.gather(draws, 1, order[..., None].expand(-1, -1, d))
            count[idx] = adv.sum(dim=1).clamp(max=a.n_starts)

    def explore_starts(self, starts, count):
        """Phase 1: each start becomes a track, is binary-searched onto the boundary and (with
        ``n_starts > 1``) runs the first ``start_iter`` iterations.

        Returns ``(best, best_dist)`` per sample: the closest point of its tracks, NaN and
        inf for a sample without a start.
        """
        a, x = self.attack, self.x
        n, device = len(x), x.device
        owner = torch.arange(n, device=device).repeat_interleave(count)
        slot = torch.arange(len(owner), device=device) - torch.searchsorted(owner, owner)
        self.set_tracks(owner)
        x_t = x[owner]
        self.bar = tqdm(total=a.max_iter, desc=type(a).__name__, unit="iter",
                        disable=not a.verbose)
        rows = self.afford(torch.ones(len(owner), dtype=torch.bool, device=device),
                           self.bs_steps)
        x_b = starts[owner, slot]
        searched = rows.nonzero().squeeze(1)
        x_b[searched] = self._binary_search(x_t, x_b[searched], searched)
        _, best_t, dist = self._iterate(x_t, x_b, x_b.clone(), (x_b - x_t).norm(dim=1), rows,
                                        range(1, self.n_explore + 1))
        winner = _argmin_by_group(dist, owner, n)
        found = count > 0
        best = torch.full_like(x, float("nan"))
        best_dist = torch.full((n,), float("inf"), device=device)
        best[found], best_dist[found] = best_t[winner[found]], dist[winner[found]]
        return best, best_dist

    def descend(self, best, best_dist, found):
        """Phase 2: each sample's closest track goes on alone from its best point for the
        remaining iterations; returns the updated ``(best, best_dist)``."""
        x = self.x
        self.set_tracks(torch.arange(len(x), device=x.device))
        x_b = torch.where(found[:, None], best, x)
        _, best, best_dist = self._iterate(x, x_b, best, best_dist, found,
                                           range(self.n_explore + 1, self.attack.max_iter + 1))
        return best, best_dist

    def confirm(self, best, best_dist, correct):
        """The result: each point re-checked with the queries kept back (per sample)."""
        x, label = self.x, self.sample_label
        # Misclassified samples are their own adversarial point.
        best[~correct], best_dist[~correct] = x[~correct], 0.0
        # Re-check every returned point with the queries kept back, in the batch and alone:
        # float32 logits round differently with the batch's shape (BLAS picks its kernel by
        # shape), so a point a hair past the boundary can keep its adversarial label in one
        # and lose it in the other, as in ``estimator.predict(point[None])``. A point is
        # first pushed outward along its ray from the sample by 1e-5 of its distance, which
        # clears that rounding for a sample away from the boundary; where the pushed point
        # fails either check, a push by 1e-3 of the distance plus 1e-4 of the box's width is
        # tried once. A point that fails both is not returned.
        success = torch.isfinite(best_dist) & correct
        todo = success.clone()
        width = self.attack.clip_max - self.attack.clip_min
        for relative, absolute in _CHECK_PUSHES:
            if not todo.any():
                break
            idx = todo.nonzero().squeeze(1)
            push = relative + absolute * width / best_dist[idx, None]
            pushed = self.clip(x[idx] + (1 + push) * (best[idx] - x[idx]))
            still = self.classify(pushed, idx) != label[idx]
            if still.any():
                alone = torch.cat([self.classify(p[None], i[None])
                                   for p, i in zip(pushed[still], idx[still], strict=True)])
                still[still.clone()] = alone != label[idx[still]]
            done = idx[still]
            best[done], best_dist[done] = pushed[still], (pushed[still] - x[done]).norm(dim=1)
            todo[done] = False
        best[todo], best_dist[todo], success[todo] = float("nan"), float("inf"), False
        success |= ~correct
        return AttackResult(
            distances=best_dist.cpu().numpy().astype(np.float64),
            adversarial=best.reshape(self.shape).cpu().numpy(),
            success=success.cpu().numpy(),
            queries=self.queries.cpu().numpy(),
            clip_min=float(self.attack.clip_min), clip_max=float(self.attack.clip_max),
        )

    # ------------------------------------------------------------------ stages
    def _draw_starts(self, x, k):
        """``k`` candidate starts for each row of ``x``: ``(len(x), k, d)``, in the box.

        One set of ``k`` draws serves every sample (see :class:`DecisionAttack`): points
        uniform in the box, or Gaussian or low-frequency offsets (``start_scale`` times the
        box's width per value) added to each sample.
        """
        a = self.attack
        width = a.clip_max - a.clip_min
        shape = (k, x.shape[1])
        if a.start == "gaussian":
            noise = torch.randn(shape, generator=self.gen_start, device=x.device, dtype=x.dtype)
            return self.clip(x[:, None] + noise * (a.start_scale * width))
        if a.start == "low-frequency":
            noise = self.start_subspace.draw(k, self.gen_start)
            return self.clip(x[:, None] + noise * (a.start_scale * width * math.sqrt(shape[1])))
        draws = torch.rand(shape, generator=self.gen_start, device=x.device, dtype=x.dtype)
        return (draws * width + a.clip_min).expand(len(x), *shape)

    def _blend(self, x, draws, adv, labels, idx):
        """Each adversarial draw moved to its first adversarial blend ``x + t (draw - x)``,
        ``t = 1/L, 2/L, ..., 1`` (``L = blend_steps``; foolbox's blended-noise line search);
        returns the moved draws and their labels.

        Costs ``L - 1`` queries per adversarial draw (``t = 1`` is the draw itself).
        """
        steps = self.attack.blend_steps
        pair = adv.nonzero()  # (sample row, draw) of the adversarial draws
        if steps == 1 or len(pair) == 0:
            return draws, labels
        rows, cols = pair[:, 0], pair[:, 1]
        t = torch.arange(1, steps, device=x.device, dtype=x.dtype) / steps
        start, end = x[rows], draws[rows, cols]
        blends = start[:, None] + t[:, None] * (end - start)[:, None]
        blend_labels = self.classify(blends.reshape(-1, x.shape[1]), idx[rows], steps - 1).reshape(
            len(pair), steps - 1)
        hit = blend_labels != self.label[idx[rows], None]
        first = torch.where(hit.any(dim=1), hit.long().argmax(dim=1), steps - 1)
        blended = first < steps - 1
        pick = torch.arange(len(pair)), first.clamp(max=steps - 2)
        chosen = torch.where(blended[:, None], blends[pick], end)
        draws = draws.clone(memory_format=torch.contiguous_format)  # may be an expand()
        draws[rows, cols] = chosen
        labels = labels.clone()
        labels[rows, cols] = torch.where(blended, blend_labels[pick], labels[rows, cols])
        return draws, labels

    def _binary_search(self, x, adv_points, tracks):
        """Boundary point on each segment ``x[tracks[j]] -> adv_points[j]``.

        The adversarial end is kept. A track may appear several times (one search per
        candidate), all searched together. Costs exactly ``bs_steps`` queries per row (paid
        for by the caller's :meth:`afford`).
        """
        if len(tracks) == 0:
            return adv_points
        start, label = x[tracks], self.label[tracks]
        span = adv_points - start
        # Bisection of [0, 1]: the bracket is [low, low + width], width halving each step
        # (dyadic, so exact in floating point).
        low = torch.zeros(len(tracks), 1, device=x.device, dtype=x.dtype)
        width = 1.0
        for _ in range(self.bs_steps):
            width /= 2
            mid = low + width
            adv = (self.classify(torch.addcmul(start, mid, span), tracks) != label)[:, None]
            low = torch.where(adv, low, mid)
        return torch.addcmul(start, low + width, span)

    def _estimate_normal(self, x_b, delta, n_probes, rows):
        """Unit estimate of the boundary normal at x_b (pointing to the adversarial side)."""
        d = x_b.shape[1]
        # Directions shared by all tracks (see DecisionAttack), drawn on every call so the
        # random stream does not depend on the budget.
        if self.subspace is not None:
            u = self.subspace.draw(n_probes, self.gen_probe)
        else:
            u = torch.randn(n_probes, d, generator=self.gen_probe, device=x_b.device,
                            dtype=x_b.dtype)
            u /= torch.linalg.vector_norm(u, dim=1, keepdim=True)
        normal = torch.zeros_like(x_b)
        tracks = rows.nonzero().squeeze(1)
        chunk = max(1, self.attack.batch_size // n_probes)
        # One buffer for all chunks: fresh multi-megabyte tensors cost page faults.
        probes = torch.empty(min(chunk, len(tracks)), n_probes, d, device=x_b.device,
                             dtype=x_b.dtype)
        for start in range(0, len(tracks), chunk):
            idx = tracks[start:start + chunk]
            p = torch.addcmul(x_b[idx, None], delta[idx, None, None], u, out=probes[:len(idx)])
            adv = self.classify(self.clip(p).view(-1, d), idx, n_probes).view(len(idx), n_probes)
            f = (adv != self.label[idx, None]).to(x_b.dtype).mul_(2).sub_(1)
            mean_f = f.mean(dim=1, keepdim=True)
            # Baseline-subtracted estimate; f itself when all probes agree (no baseline).
            f = torch.where(mean_f.abs() == 1, f, f - mean_f)
            # Row-wise product and sum, not ``f @ u``: BLAS takes another kernel for one row
            # than for several, so a matrix product would round with the batch's size.
            normal[idx] = (f[:, :, None] * u).sum(dim=1)
        return normal / normal.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def halving_search(self, candidate, size, rows):
        """Query ``candidate(size)``, halving ``size`` per track until it is adversarial.

        Returns ``(points, ok, size)``: the first adversarial candidate per track where
        ``ok``, and the size it was found at. For step rules.
        """
        points = torch.zeros(len(size), self.dim, device=size.device)
        ok = torch.zeros_like(rows)
        todo = rows.clone()
        for _ in range(self.attack.max_halvings + 1):
            if not todo.any():
                break
            trial = self.clip(candidate(size))
            hit = todo & self.is_adversarial(trial, todo)
            points[hit], ok = trial[hit], ok | hit
            todo &= ~hit
            size = torch.where(todo, size / 2, size)
        return points, ok, size

    def geometric_step(self, x_b, normal, dist, i, rows):
        """HopSkipJump's step: along the normal by ``dist / sqrt(i)``, halved until adversarial.
        For step rules."""
        points, ok, _ = self.halving_search(lambda eps: x_b + eps[:, None] * normal,
                                            dist / math.sqrt(i), rows)
        return points, ok

    def _iterate(self, x, x_b, best, best_dist, active, iterations):
        """Run ``iterations`` on the tracks; keep each track's closest adversarial point."""
        a = self.attack
        for i in iterations:
            n_probes = min(int(a.init_probes * math.sqrt(i)), a.max_probes)
            worst = n_probes + a._n_candidates * (a.max_halvings + 1 + self.bs_steps)
            active = self.afford(active & self.running(), worst)
            if not active.any():
                break
            dist = (x_b - x).norm(dim=1)
            delta = (torch.full_like(dist, 0.1 * (a.clip_max - a.clip_min)) if i == 1
                     else dist / self.dim)
            normal = self._estimate_normal(x_b, delta, n_probes, active)
            candidates = a._step(self, x, x_b, normal, dist, i, active)
            # Every candidate of every track back to the boundary in one search; per track,
            # the closest landing (the first candidate on ties).
            tracks = torch.cat([ok.nonzero().squeeze(1) for _, ok in candidates])
            landed = torch.cat([p[ok] for p, ok in candidates])
            if not a._on_boundary:
                landed = self._binary_search(x, landed, tracks)
            winner = _argmin_by_group((landed - x[tracks]).norm(dim=1), tracks, len(x))
            ok = winner < len(tracks)
            x_b = x_b.clone()
            x_b[ok] = landed[winner[ok]]
            dist = (x_b - x).norm(dim=1)
            better = ok & (dist < best_dist)
            best[better], best_dist[better] = x_b[better], dist[better]
            self.bar.update(1)
        return x_b, best, best_dist


#: Outward pushes ``(fraction of the distance, fraction of the box's width)`` of the final
#: checks, tried in turn.
_CHECK_PUSHES = ((1e-5, 0.0), (1e-3, 1e-4))


def _diverse_order(dist, labels):
    """Per row, the candidates ordered for the starts: the closest candidate of each label
    first (by distance), then the rest (by distance); infinite distances last.

    A boundary-walking attack converges to the closest point of the boundary it starts on;
    the closest candidates often share one label (the class that noise falls into), whose
    boundary need not be the nearest. Starts on the boundaries of several classes let the
    exploration compare them.
    """
    by_dist = dist.argsort(dim=1, stable=True)
    dist, labels = dist.gather(1, by_dist), labels.gather(1, by_dist)
    k = dist.shape[1]
    same = labels[:, :, None] == labels[:, None, :]
    earlier = torch.ones(k, k, dtype=torch.bool, device=dist.device).tril(-1)
    repeat = (same & earlier).any(dim=2)  # a closer candidate has the same label
    key = repeat.to(dist.dtype) + torch.isinf(dist).to(dist.dtype)  # 0, 1 or 2
    return by_dist.gather(1, key.argsort(dim=1, stable=True))


def _argmin_by_group(values, groups, n_groups):
    """Per group, the index of its smallest value (the lowest index on ties); ``len(values)``
    for a group without values."""
    least = torch.full((n_groups,), float("inf"), device=values.device, dtype=values.dtype)
    least.scatter_reduce_(0, groups, values, reduce="amin")
    is_least = values == least[groups]
    winner = torch.full((n_groups,), len(values), dtype=torch.int64, device=values.device)
    index = torch.arange(len(values), device=values.device)
    return winner.scatter_reduce_(0, groups[is_least], index[is_least], reduce="amin")


def _check_X(X, clip_min, clip_max):
    """X as a dense NumPy array of at least one finite sample inside the box."""
    X = check_array(X, "X", min_ndim=2)
    if X.min() < clip_min or X.max() > clip_max:
        raise ValueError(f"X lies outside the input box [{clip_min}, {clip_max}] "
                         f"(its values span [{X.min():.4g}, {X.max():.4g}]); set "
                         "clip_min and clip_max to the model's input range.")
    return X


def _check_starting_points(starting_points, shape):
    given = check_array(starting_points, "starting_points").astype(np.float32, copy=False)
    if given.shape != shape:
        raise ValueError(f"starting_points must have the shape of X {shape}, got "
                         f"{given.shape}.")
    return given


def _check_sample_shape(shape, expected):
    """A sample of ``shape`` must be what the model takes: the same shape, or the same number
    of values where the model takes images (flat rows are images too)."""
    shape, expected = tuple(shape), tuple(expected)
    if shape == expected or (len(expected) > 1 and math.prod(shape) == math.prod(expected)):
        return
    raise ValueError(f"X has samples of shape {shape}, but the model takes samples of shape "
                     f"{expected} ({math.prod(expected)} values).")


def _encode_labels(oracle, y):
    """Label codes of ``y``; labels the model cannot predict are an error, not distance 0."""
    codes = oracle.encode(y)
    unknown = codes < 0
    if bool(unknown.any()):
        labels = np.unique(y[unknown.cpu().numpy()])
        raise ValueError(f"y holds labels the model does not know: {labels[:10].tolist()}; "
                         "pass the true labels, in the classes the model was fitted on.")
    return codes


def _check_y(y, n):
    return check_labels(y, n)
