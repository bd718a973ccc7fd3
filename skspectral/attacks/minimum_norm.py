"""White-box minimum-norm L2 attacks, batched over samples: FMN and DDN.

Both follow adv-lib's implementations (Rony et al., BSD-3; AttackBench's reference), one
batched function each, generalized from the ``[0, 1]`` box to any box (scalar or per-feature
bounds, in the input's units): step sizes and DDN's first norm are given in units of the
box's root-mean-square width, so an attack on ``255 * X`` in ``[0, 255]`` takes ``255`` times
the steps of the same attack on ``X`` in ``[0, 1]``. The tests compare them with adv-lib's.

Every step is one forward and one backward pass over the samples still attacked; the
gradient is taken with respect to the perturbation only (``torch.autograd.grad``), so no
parameter's ``.grad`` is touched and no weight gradient is computed.
"""

import math
from abc import ABC, abstractmethod
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .._params import CONSTRAINTS, StrictInterval, store_params, validate
from .._threads import worker_thread_limits
from ._engine import (
    _CHECK_PUSHES,
    _check_sample_shape,
    _check_X,
    _check_y,
    _encode_labels,
)
from ._oracle import as_logit_oracle
from ._result import AttackResult

__all__ = ["DDN", "FMN", "MinimumNormAttack", "decoupled_direction_norm",
           "fast_minimum_norm"]


#: Parameter and Raises text the white-box functions and classes share; ``_shared_doc`` puts
#: it in place of a docstring's ``{rows}``, ``{box}``, ``{batch}`` and ``{raises}`` lines, so
#: each one's numpydoc is complete where Sphinx and ``help`` read it.
_DOC = {
    "rows": """\
    logits : callable
        ``(points (m, d)) -> logits (m, n_classes)``, differentiable with respect to the
        points (a :class:`~skspectral.attacks.LogitOracle` inside its ``evaluating``
        context, or a torch module in evaluation mode).
    x : torch.Tensor of shape (n, d)
        Flattened samples, inside the box.
    labels : torch.Tensor of int64, shape (n,)
        The classes to move away from (column indices of the logits).
    lower, upper : float or torch.Tensor of shape (d,)
        The box, ``lower < upper``.
    steps : int, default=1000
        Iterations: each is one forward and one backward pass over the ``n`` rows.""",
    "box": """\
    clip_min : float or array-like, default=0.0
        Lower bound of the input box: a number, or per-feature bounds broadcastable to a
        sample's shape.
    clip_max : float or array-like, default=1.0
        Upper bound of the input box, > ``clip_min`` everywhere.""",
    "batch": """\
    batch_size : int, default=1000
        Samples attacked together (each step is one forward and one backward pass over
        them).""",
    "raises": """\
    Raises
    ------
    ValueError
        At ``attack``, if a parameter is out of range or the box is empty or malformed.""",
}


def _shared_doc(obj):
    """Fill the shared lines of ``obj``'s docstring from ``_DOC``."""
    for key, text in _DOC.items():
        obj.__doc__ = obj.__doc__.replace(f"    {{{key}}}", text)
    return obj


def _box_norm(x, lower, upper):
    """Largest L2 distance from each row of ``x`` to a point of the box."""
    return torch.maximum(x - lower, upper - x).norm(dim=1)


def _record(best_adv, best_norm, found, points, norm, is_adv):
    """Keep each row's smallest adversarial point (in place)."""
    better = is_adv & (norm < best_norm)
    best_norm.copy_(torch.where(better, norm, best_norm))
    best_adv.copy_(torch.where(better[:, None], points, best_adv))
    found |= is_adv


@_shared_doc
def fast_minimum_norm(logits, x, labels, lower, upper, *, steps=1000, alpha_init=1.0,
                      alpha_final=None, gamma_init=0.05, gamma_final=0.001, targets=None):
    """Fast Minimum-Norm attack (Pintor et al., 2021), L2, batched over rows.

    adv-lib's algorithm: a normalized gradient step on the difference of logits (the largest
    other class's, or the target's, minus the true class's), of size ``alpha``
    (cosine-annealed from ``alpha_init`` to ``alpha_final``), then the perturbation is
    rescaled to norm ``eps`` and clipped to the box. ``eps`` is the linear estimate of the
    distance to the boundary until a row first crosses it, then shrinks by ``1 - gamma`` on
    the adversarial side and grows by ``1 + gamma`` on the other (``gamma`` annealed from
    ``gamma_init`` to ``gamma_final``). The smallest adversarial iterate of each row is returned.

    Parameters
    ----------
    {rows}
    alpha_init : float, default=1.0
        First step size (L2 length, in the input's units).
    alpha_final : float or None, default=None
        Last step size; None: ``alpha_init / 100``.
    gamma_init : float, default=0.05
        First relative change of ``eps``.
    gamma_final : float, default=0.001
        Last relative change of ``eps``.
    targets : torch.Tensor of int64, shape (n,), or None, default=None
        A class per row to move towards (targeted: the loss follows that class's logit);
        None: untargeted. Either way any other class's point counts as adversarial.

    Returns
    -------
    adversarial : torch.Tensor of shape (n, d)
        The smallest adversarial point found per row (the row itself where none was).
    norms : torch.Tensor of shape (n,)
        Its distance to the row (as the attack measured it), ``inf`` where none was found.

    See Also
    --------
    skspectral.attacks.FMN : The attack on an estimator, with the label re-check.

    Examples
    --------
    A linear model's distance to its boundary is ``|w.x + b| / |w|``:

    >>> import torch
    >>> from skspectral.attacks import fast_minimum_norm
    >>> w = torch.tensor([[3.0, 4.0]])
    >>> def logits(points):  # class 1 where 3 x1 + 4 x2 - 1 > 0
    ...     return torch.cat([torch.zeros(len(points), 1), points @ w.T - 1], dim=1)
    >>> x = torch.tensor([[0.0, 0.0], [0.1, 0.0]])
    >>> adv, norms = fast_minimum_norm(logits, x, torch.tensor([0, 0]), -1.0, 1.0, steps=100)
    >>> norms.round(decimals=3)
    tensor([0.2000, 0.1400])
    """
    alpha_final = alpha_init / 100 if alpha_final is None else alpha_final
    n = len(x)
    delta = torch.zeros_like(x, requires_grad=True)
    eps = torch.full((n,), math.inf, device=x.device, dtype=x.dtype)
    worst = _box_norm(x, lower, upper)
    best_norm = torch.full_like(eps, math.inf)
    best_adv = x.detach().clone()
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    other = None
    for i in range(steps):
        cosine = (1 + math.cos(math.pi * i / steps)) / 2
        alpha = alpha_final + (alpha_init - alpha_final) * cosine
        gamma = gamma_final + (gamma_init - gamma_final) * cosine
        norm = delta.detach().norm(dim=1)
        points = x + delta
        out = logits(points)
        if other is None:  # -inf where a logit is not followed; amax takes the rival's
            other = (torch.zeros_like(out).scatter_(1, labels[:, None], math.inf)
                     if targets is None
                     else torch.full_like(out, math.inf).scatter_(1, targets[:, None], 0.0))
        loss = (out - other).amax(dim=1) - out.gather(1, labels[:, None]).squeeze(1)
        grad, = torch.autograd.grad(loss.sum(), delta)
        with torch.no_grad():
            is_adv = out.argmax(dim=1) != labels
            _record(best_adv, best_norm, found, points.detach(), norm, is_adv)
            # Components that would leave the box at a face it already touches are
            # dropped: the step and the distance estimate use the feasible gradient.
            grad = grad.masked_fill(((points <= lower) & (grad < 0))
                                    | ((points >= upper) & (grad > 0)), 0.0)
            grad_norm = grad.norm(dim=1).clamp_min(1e-12)
            to_boundary = loss.detach().abs().to(x.dtype) / grad_norm
            # Until a row is first adversarial, aim (1 + gamma) past the linear estimate of
            # the boundary: aimed exactly at it (adv-lib), an iterate of a model linear near
            # the boundary lands on it and may stay on the clean side for good.
            eps = torch.where(is_adv, torch.minimum(eps * (1 - gamma), best_norm),
                              torch.where(found, eps * (1 + gamma),
                                          norm + to_boundary * (1 + gamma)))
            eps = torch.minimum(eps, worst)
            delta.addcdiv_(grad, grad_norm[:, None], value=alpha)
            # adv-lib's L2 projection: onto the sphere of radius eps
            delta.mul_(eps[:, None] / delta.norm(dim=1, keepdim=True).clamp_min(1e-12))
            delta.copy_(torch.clamp(x + delta, lower, upper) - x)
    return best_adv, best_norm


@_shared_doc
def decoupled_direction_norm(logits, x, labels, lower, upper, *, steps=1000, gamma=0.05,
                             init_norm=1.0, alpha_scale=1.0, generator=None):
    """Decoupled Direction and Norm attack (Rony et al., 2019), untargeted, batched over rows.

    adv-lib's algorithm (without its quantization to 256 levels): a normalized
    gradient-ascent step on the cross-entropy of the true class, of size ``alpha`` (cosine
    from 1 to 0.01, times ``alpha_scale``), then the perturbation is rescaled to norm
    ``eps`` and clipped to the box; ``eps`` starts at ``init_norm`` and shrinks by
    ``1 - gamma`` after an adversarial iterate, grows by ``1 + gamma`` after another. The
    smallest adversarial iterate of each row is returned.

    Parameters
    ----------
    {rows}
    gamma : float, default=0.05
        Relative change of ``eps`` per step.
    init_norm : float, default=1.0
        First ``eps`` (in the input's units).
    alpha_scale : float, default=1.0
        Scale of the step sizes (1 for a ``[0, 1]`` box, as published).
    generator : torch.Generator or None, default=None
        Draws the direction of a row whose gradient vanishes (the only random draw).

    Returns
    -------
    adversarial : torch.Tensor of shape (n, d)
        The smallest adversarial point found per row (the row itself where none was).
    norms : torch.Tensor of shape (n,)
        Its distance to the row, ``inf`` where none was found.

    See Also
    --------
    skspectral.attacks.DDN : The attack on an estimator, with the label re-check.

    Examples
    --------
    >>> import torch
    >>> from skspectral.attacks import decoupled_direction_norm
    >>> w = torch.tensor([[3.0, 4.0]])
    >>> def logits(points):  # class 1 where 3 x1 + 4 x2 - 1 > 0
    ...     return torch.cat([torch.zeros(len(points), 1), points @ w.T - 1], dim=1)
    >>> x = torch.tensor([[0.0, 0.0], [0.1, 0.0]])
    >>> adv, norms = decoupled_direction_norm(logits, x, torch.tensor([0, 0]), -1.0, 1.0,
    ...                                       steps=200, init_norm=0.5)
    >>> norms.round(decimals=2)
    tensor([0.2000, 0.1400])
    """
    n = len(x)
    delta = torch.zeros_like(x, requires_grad=True)
    eps = torch.full((n,), float(init_norm), device=x.device, dtype=x.dtype)
    worst = _box_norm(x, lower, upper)
    best_norm = torch.full_like(eps, math.inf)
    best_adv = x.detach().clone()
    found = torch.zeros(n, dtype=torch.bool, device=x.device)
    for i in range(steps):
        norm = delta.detach().norm(dim=1)
        points = x + delta
        out = logits(points)
        loss = F.cross_entropy(out, labels, reduction="none")
        grad, = torch.autograd.grad(loss.sum(), delta)
        with torch.no_grad():
            is_adv = out.argmax(dim=1) != labels
            _record(best_adv, best_norm, found, points.detach(), norm, is_adv)
            grad_norm = grad.norm(dim=1, keepdim=True)
            grad = grad / grad_norm
            flat = grad_norm[:, 0] < 1e-12
            if flat.any():  # no gradient: a random direction
                noise = torch.randn(int(flat.sum()), x.shape[1], generator=generator,
                                    device=x.device, dtype=x.dtype)
                grad[flat] = noise / noise.norm(dim=1, keepdim=True)
            alpha = (0.01 + (1 - 0.01) * (1 + math.cos(math.pi * i / steps)) / 2) * alpha_scale
            delta.add_(grad, alpha=alpha)
            eps = torch.minimum(torch.where(is_adv, (1 - gamma) * eps, (1 + gamma) * eps),
                                worst)
            delta.mul_(eps[:, None] / delta.norm(dim=1, keepdim=True).clamp_min(1e-12))
            delta.copy_(torch.clamp(x + delta, lower, upper) - x)
    return best_adv, best_norm


def _check_box(clip_min, clip_max, shape):
    """The box as float64 arrays broadcast to a sample's ``shape``; ValueError naming the
    bound and the first offending entry."""
    bounds = []
    for name, value in (("clip_min", clip_min), ("clip_max", clip_max)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or an array of numbers, got "
                             f"{value!r}.") from None
        try:
            array = np.broadcast_to(array, shape)
        except ValueError:
            raise ValueError(f"{name} of shape {array.shape} does not broadcast to a sample's "
                             f"shape {tuple(shape)}.") from None
        if not np.isfinite(array).all():
            raise ValueError(f"{name} must be finite, got {value!r}.")
        bounds.append(array)
    lower, upper = bounds
    bad = np.argwhere(~(lower < upper))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        raise ValueError(f"clip_min must be < clip_max, got {lower[index]} and {upper[index]} "
                         f"at feature {index}.")
    return lower, upper


def _scalar_or_array(value):
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)


@_shared_doc
class MinimumNormAttack(BaseEstimator, ABC):
    """Base of the white-box minimum-norm L2 attacks; subclasses define ``_run``.

    The model must be differentiable end to end (see
    :func:`~skspectral.attacks.as_logit_oracle`); it is evaluated in evaluation mode on its
    device, and is left exactly as it was: parameters, buffers, ``.grad``, every module's
    train/eval flag, and torch's and NumPy's global random streams. A scikit-learn
    estimator: ``get_params``, ``set_params``, ``clone`` and its ``repr`` are scikit-learn's;
    the parameters are checked when ``attack`` runs.

    Protocol, as the decision-based attacks': the clean samples are labelled by the model
    (one query each); a sample it misclassifies gets distance 0 and is not attacked. The
    others are attacked in batches of ``batch_size`` for ``max_iter`` steps per run (one
    forward and one backward pass each). The smallest adversarial iterate of each sample is
    then re-checked with the model's predicted labels (those
    :func:`~skspectral.attacks.as_oracle` returns, as ``predict`` does), in the batch and
    alone; a point that fails is pushed outward along its ray from the sample as
    :class:`~skspectral.attacks.DecisionAttack` does, and a point that fails again is not
    returned (distance ``inf``, as for a sample where no adversarial point was found).

    Parameters
    ----------
    {box}
    max_iter : int, default=1000
        Steps per sample and run, each one forward and one backward pass (AttackBench's
        budget).
    {batch}
    random_state : int, RandomState instance or None, default=None
        Seeds the attack's random draws, if any: the same integer gives the same result.

    {raises}

    See Also
    --------
    skspectral.attacks.FMN, skspectral.attacks.DDN : The concrete attacks.

    Examples
    --------
    Pixels in ``[0, 255]``; the model here labels by the first pixel:

    >>> import numpy as np, torch
    >>> from skspectral.attacks import DDN, MinimumNormAttack
    >>> model = torch.nn.Linear(4, 2)
    >>> with torch.no_grad():  # class 1 where the first pixel is > 100
    ...     _ = model.weight.copy_(torch.tensor([[0.0] * 4, [1.0, 0, 0, 0]]))
    ...     _ = model.bias.copy_(torch.tensor([0.0, -100.0]))
    >>> attack = DDN(0, 255, max_iter=200, random_state=0)
    >>> isinstance(attack, MinimumNormAttack), attack
    (True, DDN(clip_max=255, clip_min=0, max_iter=200, random_state=0))
    >>> result = attack.attack(model, np.array([[40, 0, 0, 0], [250, 9, 9, 9]], np.uint8))
    >>> bool(np.allclose(result.distances, [60, 150], rtol=0.01))  # DDN's norm grid: ~0.1%
    True
    """

    def __init__(self, clip_min=0.0, clip_max=1.0, *, max_iter=1000, batch_size=1000,
                 random_state=None):
        store_params(self, locals())

    #: Declarative constraints (see :mod:`skspectral._params`), checked by ``attack``; the
    #: box is checked against the samples' shape.
    _parameter_constraints = {
        "max_iter": [StrictInterval(Integral, 1, None, closed="left")],
        "batch_size": [StrictInterval(Integral, 1, None, closed="left")],
        "random_state": CONSTRAINTS["random_state"],
    }

    def _check_params(self):
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        validate(type(self).__name__, self._parameter_constraints, params)

    @abstractmethod
    def _run(self, logits, x, labels, lower, upper, scale, generator):
        """``(adversarial, norms, forward, backward)`` of the rows of ``x``: the batched
        function's result and the passes each row cost; ``scale`` is the box's
        root-mean-square width."""

    @worker_thread_limits()  # Dask tasks: torch/BLAS threads of the task
    def attack(self, model, X, y=None):
        """Attack every sample of ``X``.

        Parameters
        ----------
        model : estimator, Pipeline or torch.nn.Module
            Differentiable end to end: see :func:`~skspectral.attacks.as_logit_oracle`.
        X : array-like or torch.Tensor of shape (n_samples, ...)
            Samples, each of the model's input shape, inside the box.
        y : array-like of shape (n_samples,) or None, default=None
            True labels; None attacks the model's own predictions. Samples the model
            already misclassifies get distance 0.

        Returns
        -------
        AttackResult
            Per-sample distances, adversarial points, success flags, forward passes
            (``queries``) and backward passes (``gradients``).

        Raises
        ------
        TypeError
            If the model is not differentiable end to end (use a decision-based attack).
        ValueError
            If a parameter is out of range, X lies outside the box or is not finite, or y
            does not match X.
        """
        self._check_params()
        X = _check_X(X, -math.inf, math.inf)
        lower, upper = _check_box(self.clip_min, self.clip_max, X.shape[1:])
        outside = (X < lower) | (X > upper)
        if outside.any():
            first = int(np.argwhere(outside.reshape(len(X), -1).any(axis=1))[0, 0])
            raise ValueError(f"X lies outside the input box [clip_min, clip_max] (sample "
                             f"{first} first); set clip_min and clip_max to the model's "
                             "input range.")
        oracle = as_logit_oracle(model, X.shape[1:])
        _check_sample_shape(X.shape[1:], oracle.input_shape)
        y = None if y is None else _check_y(y, len(X))
        seed = (None if self.random_state is None
                else int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)))
        with oracle.evaluating():
            return self._attack(oracle, X, y, lower, upper, seed)

    def _attack(self, oracle, X, y, lower, upper, seed):
        device = oracle.device
        x = torch.as_tensor(X, dtype=torch.float32, device=device).flatten(1)
        lo = torch.tensor(lower.reshape(-1), dtype=torch.float32, device=device)
        hi = torch.tensor(upper.reshape(-1), dtype=torch.float32, device=device)
        n = len(x)
        generator = _generator(seed, device)
        queries = torch.ones(n, dtype=torch.int64, device=device)  # the clean labels
        gradients = torch.zeros(n, dtype=torch.int64, device=device)
        clean = torch.cat([oracle.labels(x[s:s + self.batch_size])
                           for s in range(0, n, self.batch_size)])
        if oracle.n_classes is None:  # a torch module: its number of logits, from one sample
            with torch.no_grad():
                oracle(x[:1])
        label = clean if y is None else _encode_labels(oracle, y)
        correct = clean == label
        best = torch.full_like(x, math.nan)
        best_dist = torch.full((n,), math.inf, device=device)
        best[~correct], best_dist[~correct] = x[~correct], 0.0
        scale = float(np.sqrt(np.mean((upper - lower) ** 2)))
        rows = correct.nonzero().squeeze(1)
        for s in range(0, len(rows), self.batch_size):
            idx = rows[s:s + self.batch_size]
            adv, norms, forward, backward = self._run(oracle, x[idx], label[idx], lo, hi,
                                                      scale, generator)
            best[idx] = torch.where(torch.isfinite(norms)[:, None], adv, math.nan)
            best_dist[idx] = norms
            queries[idx] += forward
            gradients[idx] += backward
        success = self._confirm(oracle, x, best, best_dist, label, correct, lo, hi, queries)
        return AttackResult(
            distances=best_dist.cpu().numpy().astype(np.float64),
            adversarial=best.reshape(X.shape).cpu().numpy(),
            success=success.cpu().numpy(),
            queries=queries.cpu().numpy(),
            clip_min=_scalar_or_array(self.clip_min), clip_max=_scalar_or_array(self.clip_max),
            gradients=gradients.cpu().numpy(),
        )

    def _confirm(self, oracle, x, best, best_dist, label, correct, lo, hi, queries):
        """Re-check each found point with the predicted labels, in the batch and alone
        (float32 logits round with the batch's shape); see the class docstring. Updates
        ``best``, ``best_dist`` and ``queries`` in place; returns the success flags."""
        found = torch.isfinite(best_dist) & correct
        idx = found.nonzero().squeeze(1)
        ok = self._check(oracle, best[idx], idx, label, queries)
        todo = idx[~ok]
        width = (hi - lo).min()
        for relative, absolute in _CHECK_PUSHES:
            if not len(todo):
                break
            push = relative + absolute * width / best_dist[todo, None]
            pushed = torch.clamp(x[todo] + (1 + push) * (best[todo] - x[todo]), lo, hi)
            ok = self._check(oracle, pushed, todo, label, queries)
            done = todo[ok]
            best[done], best_dist[done] = pushed[ok], (pushed[ok] - x[done]).norm(dim=1)
            todo = todo[~ok]
        best[todo], best_dist[todo] = math.nan, math.inf
        return (torch.isfinite(best_dist) & correct) | ~correct

    def _check(self, oracle, points, idx, label, queries):
        """Is each point adversarial in a batch and alone (two queries per point)?"""
        if not len(idx):
            return torch.zeros(0, dtype=torch.bool, device=points.device)
        queries[idx] += 2
        batch = torch.cat([oracle.labels(points[s:s + self.batch_size])
                           for s in range(0, len(points), self.batch_size)])
        alone = torch.cat([oracle.labels(p[None]) for p in points])
        return (batch != label[idx]) & (alone != label[idx])



def _generator(seed, device):
    """A private torch generator: seeded, or from the OS's entropy (no global stream is
    drawn from)."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


@_shared_doc
class FMN(MinimumNormAttack):
    """Fast Minimum-Norm attack (Pintor et al., 2021): white-box minimal L2 distances.

    Batched over samples (see :func:`~skspectral.attacks.fast_minimum_norm`, adv-lib's
    algorithm); the protocol, the re-check of every point and what is left untouched are
    :class:`MinimumNormAttack`'s. Draws no random numbers: the result does not depend on
    ``random_state``.

    Untargeted FMN follows the largest other logit, and that class's boundary is not always
    the nearest: with ``n_targets`` > 1 it runs again towards each class ranked 2nd to
    ``n_targets``-th by the clean sample's logits (targeted, ``max_iter`` steps each) and
    keeps each sample's smallest distance.

    Parameters
    ----------
    {box}
    max_iter : int, default=50
        Steps per sample and run, each one forward and one backward pass. AttackBench's
        budget is 1000 steps; FMN's mean distance at 50 is within 0.1% of its mean at 1000
        on the digits and MNIST networks of the robustness guide's benchmark, at a
        twentieth of the cost per run.
    alpha_init : float, default=1.0
        First step size, in units of the box's root-mean-square width (adv-lib's default
        for the ``[0, 1]`` box).
    alpha_final : float or None, default=None
        Last step size, in the same units; None: ``alpha_init / 100``.
    gamma_init : float, default=0.05
        First relative change of the norm bound per step.
    gamma_final : float, default=0.001
        Last relative change of the norm bound per step.
    n_targets : int, default=3
        Runs per sample: the untargeted one and targeted ones towards the runners-up, at
        most one per other class (a binary model gets one run). The cost is ``max_iter``
        forward and backward passes per run.
    {batch}
    random_state : int, RandomState instance or None, default=None
        Accepted for the attacks' common interface; FMN draws nothing.

    {raises}

    See Also
    --------
    skspectral.attacks.DDN : The other white-box minimum-norm attack.
    skspectral.adversarial_distances : ``attack="fmn"`` attacks a test set in one call.

    Examples
    --------
    On a linear model the distance to the boundary is known in closed form,
    ``|w.x + b| / |w|``:

    >>> import numpy as np, torch
    >>> from skspectral.attacks import FMN
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():  # logit 1 - logit 0 = 3 x1 + 4 x2 - 1
    ...     _ = model.weight.copy_(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    ...     _ = model.bias.copy_(torch.tensor([0.0, -1.0]))
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0]])
    >>> result = FMN(-1, 1).attack(model, X, [0, 0])
    >>> result.distances.round(3), result.queries, result.gradients
    (array([0.2 , 0.14]), array([53, 53]), array([50, 50]))
    """

    def __init__(self, clip_min=0.0, clip_max=1.0, *, max_iter=50, alpha_init=1.0,
                 alpha_final=None, gamma_init=0.05, gamma_final=0.001, n_targets=3,
                 batch_size=1000, random_state=None):
        store_params(self, locals())

    _parameter_constraints = {
        **MinimumNormAttack._parameter_constraints,
        "alpha_init": [StrictInterval(Real, 0, math.inf, closed="neither")],
        "alpha_final": [StrictInterval(Real, 0, math.inf, closed="neither"), None],
        "gamma_init": [StrictInterval(Real, 0, 1, closed="neither")],
        "gamma_final": [StrictInterval(Real, 0, 1, closed="neither")],
        "n_targets": [StrictInterval(Integral, 1, None, closed="left")],
    }

    def _run(self, logits, x, labels, lower, upper, scale, generator):
        alpha_final = None if self.alpha_final is None else self.alpha_final * scale
        run = partial(fast_minimum_norm, logits, x, labels, lower, upper, steps=self.max_iter,
                      alpha_init=self.alpha_init * scale, alpha_final=alpha_final,
                      gamma_init=self.gamma_init, gamma_final=self.gamma_final)
        adv, norms = run()
        runs = min(self.n_targets, logits.n_classes - 1)  # logits: the LogitOracle
        if runs == 1:
            return adv, norms, self.max_iter, self.max_iter
        with torch.no_grad():  # one forward pass: the other classes, largest logit first
            ranked = logits(x).scatter(1, labels[:, None], -math.inf).argsort(
                dim=1, descending=True)
        for rank in range(1, runs):
            other, other_norms = run(targets=ranked[:, rank])
            closer = other_norms < norms
            adv, norms = torch.where(closer[:, None], other, adv), torch.fmin(other_norms, norms)
        return adv, norms, self.max_iter * runs + 1, self.max_iter * runs


@_shared_doc
class DDN(MinimumNormAttack):
    """Decoupled Direction and Norm attack (Rony et al., 2019): white-box minimal L2
    distances.

    Batched over samples (see :func:`~skspectral.attacks.decoupled_direction_norm`,
    adv-lib's algorithm without quantization); the protocol, the re-check of every point
    and what is left untouched are :class:`MinimumNormAttack`'s.

    Parameters
    ----------
    {box}
    max_iter : int, default=1000
        Steps per sample, each one forward and one backward pass (AttackBench's budget).
        DDN's norm changes by ``gamma`` per step, so it needs about
        ``log(init_norm / d) / gamma`` steps to come down to a distance ``d``.
    gamma : float, default=0.05
        Relative change of the norm per step.
    init_norm : float, default=1.0
        First norm, in units of the box's root-mean-square width (adv-lib's default for the
        ``[0, 1]`` box); the step sizes are in the same units.
    {batch}
    random_state : int, RandomState instance or None, default=None
        Seeds the direction drawn where a gradient vanishes (the only random draw).

    {raises}

    See Also
    --------
    skspectral.attacks.FMN : The other white-box minimum-norm attack.
    skspectral.adversarial_distances : ``attack="ddn"`` attacks a test set in one call.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skspectral.attacks import DDN
    >>> model = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():  # logit 1 - logit 0 = 3 x1 + 4 x2 - 1
    ...     _ = model.weight.copy_(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    ...     _ = model.bias.copy_(torch.tensor([0.0, -1.0]))
    >>> result = DDN(-1, 1, max_iter=200, random_state=0).attack(model, [[0.0, 0.0]], [0])
    >>> result.distances.round(2), bool(result.success[0])
    (array([0.2]), True)
    """

    def __init__(self, clip_min=0.0, clip_max=1.0, *, max_iter=1000, gamma=0.05,
                 init_norm=1.0, batch_size=1000, random_state=None):
        store_params(self, locals())

    _parameter_constraints = {
        **MinimumNormAttack._parameter_constraints,
        "gamma": [StrictInterval(Real, 0, 1, closed="neither")],
        "init_norm": [StrictInterval(Real, 0, math.inf, closed="neither")],
    }

    def _run(self, logits, x, labels, lower, upper, scale, generator):
        adv, norms = decoupled_direction_norm(
            logits, x, labels, lower, upper, steps=self.max_iter, gamma=self.gamma,
            init_norm=self.init_norm * scale, alpha_scale=scale, generator=generator)
        return adv, norms, self.max_iter, self.max_iter
