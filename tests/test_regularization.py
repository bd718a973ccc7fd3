"""The penalty: scopes, analytic gradient, state handling, schedule."""

import io
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from test_spectral_conv import _operator_matrix as _conv_operator  # one definition

from skspectral.models import MLP
from skspectral.regularization import (
    REGULARIZERS,
    SCOPES,
    SpectralPenalty,
    resolve_burnin,
    resolve_scope,
)
from skspectral.spectral import capture_input_shapes


def _mlp(hidden=(6, 5), n_features=4, n_classes=3):
    torch.manual_seed(0)
    return MLP(n_features, n_classes, hidden_layer_sizes=hidden, init="default").double()


# ------------------------------------------------------------------------ scopes
def test_named_scopes_of_a_two_hidden_layer_mlp():
    mlp = _mlp()
    assert resolve_scope(mlp, "rep") == ["features.hidden0", "features.hidden1"]
    assert resolve_scope(mlp, "head") == ["head"]
    assert resolve_scope(mlp, "all") == ["features.hidden0", "features.hidden1", "head"]
    assert resolve_scope(mlp, ["head", "features.hidden0"]) == ["head", "features.hidden0"]


def test_representation_is_a_deprecated_spelling_of_rep_that_warns():
    mlp = _mlp()
    with pytest.warns(FutureWarning, match="'representation' is deprecated.*use 'rep'"):
        layers = resolve_scope(mlp, "representation")
    assert layers == resolve_scope(mlp, "rep")
    assert REGULARIZERS == {"rep": "rep", "head": "head", "all": "all"}
    assert SCOPES == ("rep", "head", "all")


def test_scope_errors_name_the_problem():
    mlp = _mlp()
    with pytest.raises(ValueError, match="Unknown scope 'readout'"):
        resolve_scope(mlp, "readout")
    with pytest.raises(ValueError,
                       match=r"'features.act0' is not a Linear/Conv1d/Conv2d/Conv3d layer"):
        resolve_scope(mlp, ["features.act0"])
    with pytest.raises(ValueError, match="unique"):
        resolve_scope(mlp, ["head", "head"])
    with pytest.raises(TypeError, match="'features' submodule"):
        resolve_scope(nn.Sequential(nn.Linear(2, 2)), "rep")
    with pytest.raises(ValueError, match="matches no Linear/Conv1d/Conv2d/Conv3d"):
        resolve_scope(nn.Sequential(nn.ReLU()), "all")


# ------------------------------------------------------------------------ gradient
def _penalty_by_autograd(module, layers, gamma):
    weights = [module.get_submodule(n).weight for n in layers]
    value = 0.5 * gamma * sum(torch.linalg.matrix_norm(w, ord=2) ** 2 for w in weights)
    return torch.autograd.grad(value, weights), value


@pytest.mark.parametrize("scope", ["rep", "head", "all"])
def test_analytic_gradient_equals_autograd_of_the_penalty(scope):
    mlp, gamma = _mlp(), 0.37
    layers = resolve_scope(mlp, scope)
    expected, value = _penalty_by_autograd(mlp, layers, gamma)
    penalty = SpectralPenalty(mlp, layers, gamma=gamma, n_power_iterations=1).double()
    penalty.converge_(mlp)
    penalty.apply_(mlp)  # grads were None: apply_ creates them
    for name, grad in zip(layers, expected, strict=True):
        got = mlp.get_submodule(name).weight.grad
        assert torch.linalg.norm(got - grad) <= 1e-6 * torch.linalg.norm(grad)
    assert penalty.value().item() == pytest.approx(value.item(), rel=1e-10)


def test_convolution_penalty_gradient_equals_autograd_for_every_padding_mode():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), nn.ReLU(),
        nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode="reflect"), nn.ReLU(),
        nn.Conv2d(4, 3, 3, padding=1, padding_mode="zeros"),
        nn.Conv2d(3, 2, 1, stride=2)).double()
    layers, gamma = ["0", "2", "4", "5"], 0.3
    shapes = capture_input_shapes(net, (2, 6, 8))
    weights = [net.get_submodule(n).weight for n in layers]
    value = 0.5 * gamma * sum(
        torch.linalg.matrix_norm(_conv_operator(net.get_submodule(n), w, shapes[n]), ord=2) ** 2
        for n, w in zip(layers, weights, strict=True))
    expected = torch.autograd.grad(value, weights)
    penalty = SpectralPenalty(net, layers, gamma=gamma, input_shapes=shapes).double()
    penalty.refresh_(net, n_iter=20000, tol=1e-15)  # converged vectors, then one more step
    penalty.apply_(net)
    for name, grad in zip(layers, expected, strict=True):
        got = net.get_submodule(name).weight.grad
        # float64 throughout; the vectors converged to ~1e-8 (sigma to 1e-15 relative)
        assert torch.linalg.norm(got - grad) <= 1e-6 * torch.linalg.norm(grad), name
    assert penalty.value().item() == pytest.approx(value.item(), rel=1e-9)


def test_apply_adds_to_existing_gradients_and_leaves_other_layers_alone():
    mlp = _mlp()
    penalty = SpectralPenalty(mlp, ["features.hidden0"], gamma=1.0).double().converge_(mlp)
    for p in mlp.parameters():
        p.grad = torch.ones_like(p)
    w = mlp.features.hidden0.weight
    u, s, vh = torch.linalg.svd(w.detach())
    penalty.apply_(mlp)
    expected = 1.0 + s[0] * torch.outer(u[:, 0], vh[0])
    assert torch.allclose(w.grad, expected, atol=1e-6)
    assert torch.equal(mlp.head.weight.grad, torch.ones_like(mlp.head.weight))
    assert torch.equal(mlp.features.hidden0.bias.grad, torch.ones_like(mlp.features.hidden0.bias))


def test_zero_gamma_and_frozen_weights_get_no_gradient():
    mlp = _mlp()
    SpectralPenalty(mlp, ["head"], gamma=0.0).double().apply_(mlp)
    assert mlp.head.weight.grad is None
    mlp.head.weight.requires_grad_(False)
    SpectralPenalty(mlp, ["head"], gamma=1.0).double().apply_(mlp)
    assert mlp.head.weight.grad is None


def test_value_is_half_gamma_times_sum_of_squared_top_singular_values():
    lin = nn.Linear(3, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.diag(torch.tensor([2.0, -4.0, 1.0])))
    model = nn.Sequential(lin)
    penalty = SpectralPenalty(model, ["0"], gamma=0.5).double().converge_(model)
    assert penalty.value().item() == pytest.approx(0.5 * 0.5 * 16.0)
    assert penalty.norms() == {"0": pytest.approx(4.0)}


def test_warm_started_refresh_tracks_a_slowly_moving_weight():
    mlp = _mlp(hidden=(30,), n_features=20)
    penalty = SpectralPenalty(mlp, ["features.hidden0"], gamma=0.0).double().converge_(mlp)
    w = mlp.features.hidden0.weight
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        with torch.no_grad():
            w.add_(1e-3 * torch.randn(w.shape, generator=g, dtype=w.dtype))
        penalty.refresh_(mlp)
    exact = torch.linalg.matrix_norm(w.detach(), ord=2).item()
    assert penalty.norms()["features.hidden0"] == pytest.approx(exact, rel=1e-3)


def test_estimate_from_given_vectors_is_a_pure_read_and_returns_the_refined_ones():
    lin = nn.Linear(3, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.diag(torch.tensor([2.0, -4.0, 1.0])))
    model = nn.Sequential(lin)
    penalty = SpectralPenalty(model, ["0"]).double()
    before = penalty.v0.clone()
    exact = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)  # the top right singular vector
    norms, vectors = penalty.estimate(model, n_iter=1, start=[exact], return_vectors=True)
    assert norms == {"0": 4.0} and torch.equal(vectors[0], exact)
    assert torch.equal(penalty.v0, before)  # the penalty's own state is untouched
    # A start vector that no longer fits its layer is replaced by the penalty's vector.
    assert penalty.estimate(model, n_iter=1, start=[torch.ones(5)]) == penalty.estimate(
        model, n_iter=1)


# ------------------------------------------------------------------------ state
def test_state_lives_in_buffers_and_survives_pickle_and_state_dict():
    mlp = _mlp()
    penalty = SpectralPenalty(mlp, ["features.hidden0", "head"], gamma=0.1).converge_(mlp)
    assert set(dict(penalty.named_buffers())) == {"v0", "sigma0", "v1", "sigma1"}
    clone = pickle.loads(pickle.dumps(penalty))
    assert torch.equal(clone.v0, penalty.v0) and clone.layers == penalty.layers
    buffer = io.BytesIO()
    torch.save(penalty.state_dict(), buffer)
    fresh = SpectralPenalty(mlp, ["features.hidden0", "head"], gamma=0.1)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer))
    assert torch.equal(fresh.v1, penalty.v1)


def test_state_follows_dtype_and_device_moves():
    mlp = _mlp()
    penalty = SpectralPenalty(mlp, ["head"]).float()
    assert penalty.v0.dtype == torch.float32
    moved = penalty.to(torch.float64).to("meta")
    assert moved.v0.device.type == "meta" and moved.v0.dtype == torch.float64


def test_state_is_reinitialized_when_a_layer_changes_shape():
    mlp = _mlp()
    penalty = SpectralPenalty(mlp, ["head"]).double().converge_(mlp)
    assert penalty.converged
    mlp.head = nn.Linear(9, 3).double()
    penalty.refresh_(mlp)
    assert penalty.v0.shape == (9,) and not penalty.converged
    penalty.converge_(mlp)
    assert penalty.norms()["head"] == pytest.approx(
        torch.linalg.matrix_norm(mlp.head.weight.detach(), ord=2).item(), rel=1e-6)


def test_penalty_parameter_errors():
    mlp = _mlp()
    with pytest.raises(ValueError, match=r"The 'gamma' parameter of SpectralPenalty must be a "
                                         r"float in the range \[0.0, inf\)\. Got -1.0 instead"):
        SpectralPenalty(mlp, ["head"], gamma=-1.0)
    with pytest.raises(ValueError, match="The 'n_power_iterations' parameter of SpectralPenalty"):
        SpectralPenalty(mlp, ["head"], n_power_iterations=0)


# ------------------------------------------------------------------------ schedule
@pytest.mark.parametrize(("burnin", "max_epochs", "expected"),
                         [(0, 10, 0), (7, 10, 7), (10, 10, 10), (0.8, 200, 160),
                          (0.7, 15000, 10500), (0.0, 5, 0), (0.5, 3, 2), (np.int64(3), 4, 3)])
def test_resolve_burnin(burnin, max_epochs, expected):
    assert resolve_burnin(burnin, max_epochs) == expected


@pytest.mark.parametrize("burnin", [-1, 11, 1.0, 1.5, -0.1, "half", None, True, float("nan")])
def test_resolve_burnin_rejects_out_of_range(burnin):
    with pytest.raises(ValueError, match="burnin"):
        resolve_burnin(burnin, 10)
