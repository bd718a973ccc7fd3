import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_home():
    """Folder holding MNIST/raw: $SKSPECTRAL_DATA, else ../shared/data beside the repo."""
    for candidate in (os.environ.get("SKSPECTRAL_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return Path(candidate)
    pytest.skip("MNIST not available: set SKSPECTRAL_DATA or provide ../shared/data/MNIST/raw")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
