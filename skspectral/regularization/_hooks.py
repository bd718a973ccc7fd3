"""The Parameters section of a skorch callback hook, written once for every hook."""

import inspect

__all__ = ["hook_parameters"]

_GRADIENT_STEP = """\
named_parameters : iterator of (str, torch.nn.Parameter)
    The parameters whose gradients were computed (skorch's argument; unused: the callback
    knows the parameters it acts on).
training : bool, default=False
    Whether the step is a training step; validation steps are left alone."""

_KWARGS = """\
**kwargs : dict
    Further arguments skorch passes to callbacks; ignored."""


def hook_parameters(net_type="skorch.NeuralNet", net_text="The net being trained."):
    """Decorator: end a skorch callback hook's docstring with its Parameters section.

    skorch calls every hook with the net and keyword arguments; ``on_grad_computed`` also
    with ``named_parameters`` and ``training``. The hook's own docstring says what it does.

    Parameters
    ----------
    net_type : str, default="skorch.NeuralNet"
        The documented type of ``net``.
    net_text : str, default="The net being trained."
        The description of ``net``.

    Returns
    -------
    callable
        The decorator, which returns the hook itself with its docstring completed.
    """
    def decorate(hook):
        section = ["Parameters", "----------", f"net : {net_type}", f"    {net_text}"]
        if "named_parameters" in inspect.signature(hook).parameters:
            section.append(_GRADIENT_STEP)
        section.append(_KWARGS)
        hook.__doc__ = inspect.cleandoc(hook.__doc__) + "\n\n" + "\n".join(section)
        return hook

    return decorate
