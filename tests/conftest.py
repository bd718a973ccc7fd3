from pathlib import Path

import pytest
import torch

from skspectral.datasets import find_mnist

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_home():
    """Folder holding MNIST/raw: $SKSPECTRAL_DATA, else ../shared/data beside the repo."""
    home = find_mnist(None, REPO.parent / "shared" / "data")
    if home is not None:
        return home
    pytest.skip("MNIST not available: set SKSPECTRAL_DATA or provide ../shared/data/MNIST/raw")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
