"""ImageNet pretraining of a rep-spectral ResNet50, then fine-tuning (torchrun)
============================================================================

The paper's ImageNet pretraining (its transfer results, Fig. 8) as a recipe: ResNet50 with
rep-spectral on an ImageFolder tree, data-parallel over GPUs and nodes (torchrun), with
checkpoints, then fine-tuned on a target task through the transfer path.

The paper's settings (docs/method.md in the project notes; ``--help`` lists them): ResNet50
with the ImageNet stem, SGD with momentum 0.9 and weight decay 1e-4, base lr 0.02 divided by
10 every 30 epochs, a global batch of 512, 120 epochs, gamma 0.001 in the authors' convention
(0.002 here), the penalty on from epoch 80 and applied every 160 steps, taken at the
training resolution (224). Images are random-resized crops of 224 with flips, decoded by
``--workers`` DataLoader processes per GPU and sent to the GPU as uint8; the ImageNet
normalization runs inside the network. Each rank reads only its share of every global batch.

On 2 nodes of 8 GPUs (run on every node; HOST is node 0's address)::

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        examples/imagenet_resnet50.py --train /data/imagenet/train --out runs/imagenet \\
        --finetune-train /data/cifar10/train --finetune-test /data/cifar10/test

One node: ``torchrun --standalone --nproc-per-node 8 examples/imagenet_resnet50.py ...``.
A run that stops (preemption, a crash) continues from its last checkpoint when the same
command is run again. Rank 0 writes the checkpoints under ``--out/checkpoints`` (a folder
every node must see), and the pretrained network as ``--out/pretrained.pt``, which the
fine-tuning then loads (``pretrained_weights``), as any later job can.

A tiny end-to-end run on the CPU (gloo), as the tests run it::

    python examples/imagenet_resnet50.py --make-fake-data /tmp/fake --fake-images 32
    torchrun --standalone --nproc-per-node 2 examples/imagenet_resnet50.py \\
        --train /tmp/fake/train --finetune-train /tmp/fake/train \\
        --finetune-test /tmp/fake/test --out /tmp/run --arch resnet18 --image-size 32 \\
        --batch-size 8 --epochs 2 --burnin 1 --update-every 2 --workers 1 \\
        --finetune-epochs 1 --finetune-batch-size 8

That tiny run printed "pretrained resnet18 in 15.6 s over 2 process(es); 20 convolutions
penalized", the fine-tuned test accuracy and the attack's distances, 61 s in all on this
project's loaded 2-core machine (``docs/scaling.md``). No ImageNet-scale run has been measured
here.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from skorch.callbacks import LRScheduler

from skspectral import SpectralResNetClassifier, adversarial_distances

#: ImageNet's per-channel statistics in uint8 pixel units (the network normalizes inside).
MEAN = tuple(255 * m for m in (0.485, 0.456, 0.406))
STD = tuple(255 * s for s in (0.229, 0.224, 0.225))


def image_folder(root, size, train):
    """An ImageFolder whose items are uint8 (3, size, size) tensors."""
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    crop = ([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()] if train
            else [transforms.Resize(size * 8 // 7), transforms.CenterCrop(size)])
    return ImageFolder(root, transform=transforms.Compose(
        [transforms.Lambda(lambda im: im.convert("RGB")), *crop, transforms.PILToTensor()]))


def make_fake_data(root, n, size=40):
    """``train/`` and ``test/`` ImageFolders of FakeData PNGs (4 classes), for a dry run."""
    from torchvision.datasets import FakeData

    for split, offset in (("train", 0), ("test", n)):
        fake = FakeData(size=n, image_size=(3, size, size), num_classes=4,
                        random_offset=offset)
        for i in range(n):
            image, label = fake[i]
            folder = Path(root) / split / f"class{label}"
            folder.mkdir(parents=True, exist_ok=True)
            image.save(folder / f"{i:05d}.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", help="ImageFolder root of the pretraining images")
    parser.add_argument("--out", default="runs/imagenet", help="output folder")
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=512, help="global batch")
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--lr-step", type=int, default=30, help="epochs between lr / 10")
    parser.add_argument("--gamma", type=float, default=2e-3,
                        help="penalty strength (the paper's 0.001 in its code's convention)")
    parser.add_argument("--burnin", type=int, default=80, help="penalty-free epochs")
    parser.add_argument("--update-every", type=int, default=160)
    parser.add_argument("--workers", type=int, default=8, help="DataLoader workers per rank")
    parser.add_argument("--finetune-train", help="ImageFolder root of the target task")
    parser.add_argument("--finetune-test", help="its test images")
    parser.add_argument("--finetune-epochs", type=int, default=50)
    parser.add_argument("--finetune-batch-size", type=int, default=64)
    parser.add_argument("--attack-samples", type=int, default=8)
    parser.add_argument("--make-fake-data", metavar="DIR",
                        help="write a tiny train/test ImageFolder of FakeData PNGs and exit")
    parser.add_argument("--fake-images", type=int, default=32)
    args = parser.parse_args()
    if args.make_fake_data:
        make_fake_data(args.make_fake_data, args.fake_images)
        return

    distributed = "WORLD_SIZE" in os.environ  # launched by torchrun
    cuda = torch.cuda.is_available()
    if distributed:
        if cuda:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if distributed else 0
    out = Path(args.out)
    try:
        pretrain = SpectralResNetClassifier(
            arch=args.arch, stem="imagenet", normalize=(MEAN, STD), regularizer="rep",
            gamma=args.gamma, burnin=args.burnin, update_every=args.update_every,
            input_size=(args.image_size, args.image_size), lr=args.lr, momentum=0.9,
            weight_decay=1e-4, batch_size=args.batch_size, max_epochs=args.epochs,
            distributed=distributed, random_state=0, verbose=int(rank == 0),
            callbacks=[("lr_step", LRScheduler(policy=torch.optim.lr_scheduler.StepLR,
                                               step_size=args.lr_step, gamma=0.1))],
            checkpoint_dir=out / "checkpoints", checkpoint_every=1,
            iterator_train__num_workers=args.workers,
            iterator_train__persistent_workers=args.workers > 0,
            iterator_train__pin_memory=cuda)
        start = time.perf_counter()
        pretrain.fit(image_folder(args.train, args.image_size, train=True))
        if rank == 0:
            torch.save(pretrain.module_.state_dict(), out / "pretrained.pt")
            print(f"pretrained {args.arch} in {time.perf_counter() - start:.1f} s over "
                  f"{dist.get_world_size() if distributed else 1} process(es); "
                  f"{len(pretrain.regularized_layers_)} convolutions penalized; final "
                  f"train loss {pretrain.history_[-1, 'train_loss']:.4f}", flush=True)
    finally:
        if distributed:
            dist.destroy_process_group()
    if rank != 0 or not args.finetune_train:
        return
    # Fine-tuning (one process): the paper's head 0.01 / backbone 0.002, cosine schedule.
    finetune = SpectralResNetClassifier(
        arch=args.arch, stem="imagenet", normalize=(MEAN, STD),
        pretrained_weights=str(out / "pretrained.pt"), regularizer=None, lr=0.01,
        backbone_lr=0.002, lr_schedule="cosine", momentum=0.9, weight_decay=1e-4,
        batch_size=args.finetune_batch_size, max_epochs=args.finetune_epochs,
        random_state=0, iterator_train__num_workers=args.workers,
        iterator_valid__num_workers=args.workers)
    finetune.fit(image_folder(args.finetune_train, args.image_size, train=True))
    if args.finetune_test:
        test = image_folder(args.finetune_test, args.image_size, train=False)
        print(f"fine-tuned: test accuracy {finetune.score(test):.4f}", flush=True)
        result = adversarial_distances(finetune, test, attack="tangent",
                                       n_samples=args.attack_samples, clip_min=0.0,
                                       clip_max=255.0, random_state=0, max_iter=5)
        found = np.isfinite(result.distances) & (result.distances > 0)
        print(f"Tangent Attack on {len(result)} test images: {int(found.sum())} adversarial "
              f"points found, mean distance {result.distances[found].mean():.2f} (pixels "
              f"0-255); the backbone loaded "
              f"{len(finetune.module_.load_report_['loaded'])} tensors of the pretraining",
              flush=True)
        np.save(out / "distances.npy", result.distances)


if __name__ == "__main__":
    main()
