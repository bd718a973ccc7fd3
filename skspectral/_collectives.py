"""Collective helpers over torch.distributed's default process group.

Every helper is a no-op in a single process (no initialized group, or a group of one), so
code that calls them runs unchanged outside data-parallel training.
"""

import torch
import torch.distributed as dist

__all__ = ["all_reduce_mean_", "broadcast_", "broadcast_object", "check_process_group",
           "world"]


def world():
    """``(rank, world_size)`` of the default process group; ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def check_process_group(owner):
    """Raise a ValueError naming ``owner`` unless a default process group is initialized."""
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            f"{owner} with distributed=True needs an initialized torch.distributed process "
            "group: launch one process per device (e.g. with torchrun) and call "
            "torch.distributed.init_process_group() ('nccl' for GPUs, 'gloo' for CPUs) "
            "before fit.")


def _comm_device(tensor):
    # NCCL moves CUDA tensors only; gloo moves both.
    if dist.get_backend() == "nccl" and tensor.device.type != "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return tensor.device


def _flat_collective(tensors, op):
    """Run ``op`` on all ``tensors`` at once (one flat buffer per dtype), in place."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.detach().reshape(-1) for t in group])
        flat = flat.to(_comm_device(flat))
        op(flat)
        for t, part in zip(group, flat.split([t.numel() for t in group]), strict=True):
            t.copy_(part.view_as(t))


def broadcast_(tensors, src=0):
    """Overwrite ``tensors`` on every rank with rank ``src``'s values (in place)."""
    if world()[1] > 1 and tensors:
        _flat_collective(tensors, lambda flat: dist.broadcast(flat, src=src))
    return tensors


def all_reduce_mean_(tensors):
    """Replace ``tensors`` on every rank with their mean over the ranks (in place).

    Every rank receives the same bits: the collective shares one result.
    """
    size = world()[1]
    if size > 1 and tensors:
        def mean(flat):
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            flat.div_(size)
        _flat_collective(tensors, mean)
    return tensors


def broadcast_object(obj, src=0):
    """Rank ``src``'s ``obj`` (picklable), on every rank."""
    if world()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]
