"""The ImageNet pretraining recipe end to end: a real torchrun launch of two gloo processes on a
tiny generated ImageFolder, 2 epochs with checkpoints, then fine-tuning and an attack."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from skspectral.models import ResNet

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "imagenet_resnet50.py"
TORCHRUN = shutil.which("torchrun", path=os.path.dirname(sys.executable))


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed beside this Python")
def test_the_recipe_runs_under_torchrun_on_two_processes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(SCRIPT), "--make-fake-data", str(tmp_path / "data"),
                    "--fake-images", "32"], check=True, env=env, timeout=120)
    out = tmp_path / "run"
    run = subprocess.run(
        [TORCHRUN, "--standalone", "--nproc-per-node", "2", str(SCRIPT),
         "--train", str(tmp_path / "data" / "train"),
         "--finetune-train", str(tmp_path / "data" / "train"),
         "--finetune-test", str(tmp_path / "data" / "test"), "--out", str(out),
         "--arch", "resnet18", "--image-size", "32", "--batch-size", "8", "--epochs", "2",
         "--burnin", "1", "--update-every", "2", "--workers", "1", "--finetune-epochs", "1",
         "--finetune-batch-size", "8", "--attack-samples", "4"],
        env=env, timeout=480, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "over 2 process(es); 20 convolutions penalized" in run.stdout
    assert "fine-tuned: test accuracy" in run.stdout
    # The pretrained network loads into the architecture it claims to be.
    model = ResNet("resnet18", n_classes=4, in_channels=3, stem="imagenet")
    report = model.load_pretrained(torch.load(out / "pretrained.pt", weights_only=True))
    assert report["new"] == []
    assert np.load(out / "distances.npy").shape == (4,)
