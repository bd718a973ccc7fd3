"""What skspectral loads runs no code (docs/security.md): pretrained weights are read as data
only, torchvision's downloads are checked, every ``torch.load`` of the package asks for data
only and pickles are read in one documented place; a Dask client takes TLS settings.
(Checkpoints: tests/test_checkpoints.py.)"""

import ast
import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

import skspectral
from skspectral import SpectralResNetClassifier

PACKAGE = Path(skspectral.__file__).parent


class Planted:
    """Unpickling it creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _images():
    rng = np.random.RandomState(0)
    return rng.rand(16, 8, 8).astype(np.float32), np.arange(16) % 2


def test_a_pretrained_weights_file_that_would_run_code_is_refused_unrun(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "weights.pt"
    torch.save({"conv1.weight": Planted(marker)}, path)
    with pytest.raises(ValueError, match=r"pretrained_weights '.*weights\.pt' is not a state "
                                         r"dict saved with torch\.save: torch\.load with "
                                         r"weights_only=True refused it"):
        SpectralResNetClassifier(pretrained_weights=str(path), max_epochs=1).fit(*_images())
    assert not marker.exists()


def test_torchvision_weights_are_read_as_data_and_checked_against_their_hash(monkeypatch):
    calls = []
    reference = torchvision.models.resnet18(num_classes=1000).state_dict()

    def download(url, *args, **kwargs):  # no network in tests: what it would load
        calls.append((url, kwargs))
        return reference

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", download)
    X, y = _images()
    SpectralResNetClassifier(pretrained_weights="IMAGENET1K_V1", stem="imagenet",
                             freeze_backbone=True, regularizer=None, max_epochs=1,
                             random_state=0).fit(np.repeat(X[:, None], 3, axis=1), y)
    [(url, kwargs)] = calls
    assert url == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    assert kwargs["weights_only"] is True and kwargs["check_hash"] is True


def _calls(name):
    """``(file, line, call)`` of every call of ``name`` (a dotted name) in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == name:
                found.append((path.relative_to(PACKAGE).as_posix(), node.lineno, node))
    return found


def test_every_torch_load_of_the_package_reads_data_only():
    calls = _calls("torch.load")
    assert {path for path, _, _ in calls} == {"models/_backbone.py",
                                              "training/_checkpoint.py"}
    for path, line, call in calls:
        options = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert options.get("weights_only") == "True", f"{path}:{line}"


def test_pickles_are_read_in_the_one_documented_place():
    # reproduce's xor experiment keeps the models its figures draw as pickles in the output
    # folder's store/: docs/security.md says to trust that folder as code.
    readers = [(path, line) for name in ("pickle.load", "pickle.loads", "joblib.load",
                                         "cloudpickle.load", "cloudpickle.loads")
               for path, line, _ in _calls(name)]
    assert [path for path, _ in readers] == ["experiments/xor.py"]
    for path, line, call in _calls("np.load"):
        options = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert options.get("allow_pickle", "False") == "False", f"{path}:{line}"


def test_connect_hands_the_tls_settings_to_dask(monkeypatch):
    distributed = pytest.importorskip("distributed")
    from skspectral.parallel import connect

    seen = {}

    class Client:
        def __init__(self, address, **kwargs):
            seen.update(kwargs, address=address)

    monkeypatch.setattr(distributed, "Client", Client)
    security = distributed.Security(require_encryption=True)
    connect("tls://scheduler:8786", check=False, security=security)
    assert seen == {"address": "tls://scheduler:8786", "timeout": 10.0, "security": security}
    connect("tcp://scheduler:8786", check=False)
    assert seen["security"] is None  # Dask's configuration decides


def test_the_checkpoint_payload_loads_with_weights_only(tmp_path):
    # What TrainingCheckpoint writes is what torch's data-only loader accepts.
    X, y = _images()
    SpectralResNetClassifier(max_epochs=1, random_state=0, checkpoint_dir=tmp_path,
                             lr_schedule="cosine").fit(X, y)
    data = (tmp_path / "latest.ckpt").read_bytes()
    payload = data.split(b"\n", 3)[3]
    state = torch.load(io.BytesIO(payload), weights_only=True)
    assert sorted(state) == ["callbacks", "net", "rng"]
