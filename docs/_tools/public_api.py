"""The public API of skspectral, read from the ``__all__`` of its public modules.

One source of truth for the API reference (``docs/conf.py`` writes ``docs/api.rst`` from it)
and for ``tests/test_docs.py`` (doctests, Examples sections, parameter documentation), so that a
name added to an ``__all__`` appears in both without editing the docs.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

# In the import graph's order (spectral math -> ... -> experiments): a module re-exports only
# from modules before it, so the first module whose __all__ holds an object is where it is
# documented, and later ones link there. The package itself comes last (it only re-exports).
PUBLIC_MODULES = (
    "skspectral.spectral",
    "skspectral.regularization",
    "skspectral.models",
    "skspectral.data",
    "skspectral.datasets",
    "skspectral.training",
    "skspectral.estimators",
    "skspectral.attacks",
    "skspectral.metrics",
    "skspectral.report",
    "skspectral.autoattack",
    "skspectral.parallel",
    "skspectral.plotting",
    "skspectral.experiments",
    "skspectral",
)


@dataclass(frozen=True)
class PublicName:
    """One entry of a public module's ``__all__``."""

    module: str  # the public module whose __all__ lists it
    name: str
    obj: object
    canonical: str  # "module.name" where it is documented (its own page)

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def is_canonical(self) -> bool:
        return self.qualname == self.canonical

    @property
    def kind(self) -> str:
        """``"class"``, ``"function"`` or ``"data"`` (constants, documented as data)."""
        if inspect.isclass(self.obj):
            return "class"
        if callable(self.obj):
            return "function"
        return "data"


def public_names() -> list[PublicName]:
    """Every (module, name) of the public modules' ``__all__``, in the modules' order.

    Raises
    ------
    AttributeError
        If a module has no ``__all__`` or lists a name it does not define.
    """
    seen: dict[int, str] = {}
    out = []
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        if not hasattr(module, "__all__"):
            raise AttributeError(f"{modname} has no __all__: its public names are undefined")
        for name in module.__all__:
            if not hasattr(module, name):
                raise AttributeError(f"{modname}.__all__ lists {name!r}, which it does not define")
            obj = getattr(module, name)
            # Identity only for objects that cannot be equal by accident (not str/int/float).
            key = id(obj) if not isinstance(obj, (str, int, float, bool)) else None
            canonical = seen.get(key) if key is not None else None
            if canonical is None:
                canonical = f"{modname}.{name}"
                if key is not None:
                    seen[key] = canonical
            out.append(PublicName(modname, name, obj, canonical))
    return out

