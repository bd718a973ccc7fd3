"""Write the intersphinx inventories of docs/_inventories from the installed packages.

The documentation build runs without a network (here and in CI), so intersphinx reads committed
inventory files instead of downloading ``objects.inv``. This script builds them from the public
names of the installed scikit-learn, PyTorch, skorch, torchvision and kornia, placed at the URL
scheme of each project's documentation (e.g. scikit-learn's
``modules/generated/sklearn.pipeline.Pipeline.html#sklearn.pipeline.Pipeline``). Links then go to
the live sites; names that a site documents elsewhere than its scheme says (a few) get a link to
the wrong anchor of the right site, never a broken build.

Where a network exists, the real inventories are better (complete, exact anchors); replace the
files with them, keeping the file names, and rebuild::

    for p in sklearn:https://scikit-learn.org/stable \\
             torch:https://docs.pytorch.org/docs/stable \\
             skorch:https://skorch.readthedocs.io/en/stable \\
             torchvision:https://docs.pytorch.org/vision/stable \\
             kornia:https://kornia.readthedocs.io/en/latest; do
        curl -fsSL "${p#*:}/objects.inv" -o "docs/_inventories/${p%%:*}.inv"
    done

Usage (from the repository root, in the docs environment)::

    python docs/_tools/make_inventories.py [--out docs/_inventories]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import warnings
import zlib
from pathlib import Path

# package -> project name in the inventory header
PROJECTS = {
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "skorch": "skorch",
    "torchvision": "torchvision",
    "kornia": "kornia",
}


def _public(module):
    """(name, object) of a module's public API: __all__, else its public classes/functions."""
    names = getattr(module, "__all__", None)
    if names is None:
        root = module.__name__.split(".")[0]
        names = [n for n, o in vars(module).items()
                 if not n.startswith("_") and (inspect.isclass(o) or inspect.isroutine(o))
                 and (getattr(o, "__module__", None) or "").startswith(root)]
    out = []
    for name in names:
        try:
            obj = getattr(module, name)
        except (AttributeError, ImportError):  # lazily imported, experimental (HalvingGrid...)
            continue
        if not inspect.ismodule(obj):
            out.append((name, obj))
    return out


def _members(cls):
    """Public methods, properties and attributes a class defines itself."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            yield name, "py:property"
        elif isinstance(value, (classmethod, staticmethod)) or inspect.isfunction(value):
            yield name, "py:method"
        elif not inspect.isclass(value):
            yield name, "py:attribute"


def _entries(modname, page):
    """Inventory lines of one public module; ``page(fullname)`` gives the object's URI."""
    try:
        module = importlib.import_module(modname)
    except Exception:  # noqa: BLE001 (optional back ends: a module that fails is left out)
        return []
    lines = [(modname, "py:module", page(modname, module=True))]
    for name, obj in _public(module):
        full = f"{modname}.{name}"
        if inspect.isclass(obj):
            role = "py:exception" if issubclass(obj, BaseException) else "py:class"
            uri = page(full)
            lines.append((full, role, uri))
            base = uri.split("#")[0]
            for member, mrole in _members(obj):
                lines.append((f"{full}.{member}", mrole, f"{base}#{full}.{member}"))
        elif inspect.isroutine(obj) or callable(obj):
            lines.append((full, "py:function", page(full)))
        else:
            lines.append((full, "py:data", page(full)))
    return lines


def _generated(prefix=""):
    def page(full, module=False):
        return f"{prefix}{full}.html#module-{full}" if module else f"{prefix}{full}.html#$"
    return page


def _on_page(path):
    def page(full, module=False):
        return f"{path}#module-{full}" if module else f"{path}#$"
    return page


def sklearn_entries():
    import sklearn

    lines = []
    # sklearn.__all__ lists its submodules (lower case) and a few functions (clone...).
    mods = {f"sklearn.{m}" for m in sklearn.__all__ if m.islower() and "_" != m[0]
            and m not in ("clone", "get_config", "set_config", "config_context", "show_versions",
                          "externals", "experimental")}
    mods = sorted(mods | {"sklearn.base", "sklearn.utils", "sklearn.utils.validation",
                          "sklearn.utils.estimator_checks", "sklearn.utils.multiclass"})
    for mod in mods:
        def page(full, module=False, mod=mod):
            if module:
                return f"api/{full}.html#module-{full}"
            return f"modules/generated/{full}.html#$"
        lines += _entries(mod, page)
    lines += [("sklearn.clone", "py:function", "modules/generated/sklearn.base.clone.html#$")]
    return lines


def torch_entries():
    lines = []
    special = {
        "torch.utils.data": _on_page("data.html"),
        "torch.utils.data.distributed": _on_page("data.html"),
        "torch.nn.init": _on_page("nn.init.html"),
        "torch.distributed": _on_page("distributed.html"),
        "torch.amp": _on_page("amp.html"),
        "torch.cuda.amp": _on_page("amp.html"),
    }
    for mod in ("torch", "torch.nn", "torch.nn.functional", "torch.nn.utils", "torch.optim",
                "torch.optim.lr_scheduler", "torch.utils.data",
                "torch.utils.data.distributed", "torch.nn.init", "torch.amp",
                "torch.distributed", "torch.cuda", "torch.linalg", "torch.fft",
                "torch.nn.parallel", "torch.autograd", "torch.func"):
        page = special.get(mod, _generated("generated/"))
        if mod not in special:
            base = page

            def page(full, module=False, base=base, mod=mod):
                return (f"{mod}.html#module-{full}" if module else base(full))
        lines += _entries(mod, page)
    lines += [("torch.Tensor", "py:class", "tensors.html#$"),
              ("torch.device", "py:class", "tensor_attributes.html#$"),
              ("torch.dtype", "py:class", "tensor_attributes.html#$"),
              ("torch.Generator", "py:class", "generated/torch.Generator.html#$")]
    return lines


def skorch_entries():
    import skorch

    lines = []
    mods = [f"skorch.{m.name}" for m in pkgutil.iter_modules(skorch.__path__)
            if not m.name.startswith("_") and m.name not in ("tests", "llm")]
    for mod in sorted(mods):
        path = mod.removeprefix("skorch.").replace(".", "/") + ".html"
        try:
            module = importlib.import_module(mod)
        except ImportError:  # an optional dependency (gpytorch, transformers) is absent
            continue

        def page(full, module_=False, path=path):
            return f"{path}#module-{full}" if module_ else f"{path}#$"

        def wrapped(full, module=False, page=page):
            return page(full, module_=module)

        # skorch documents each class in the module that defines it (skorch.net.NeuralNet),
        # a package's under the package (skorch.callbacks.Callback), not at re-exports.
        entries = _entries(mod, wrapped)
        keep = {f"{mod}.{n}" for n, o in _public(module)
                if (getattr(o, "__module__", None) or mod) == mod
                or (getattr(o, "__module__", None) or "").startswith(mod + ".")}
        lines += [e for e in entries if e[1] == "py:module" or e[0] in keep
                  or e[0].rsplit(".", 1)[0] in keep]
    return lines


def torchvision_entries():
    lines = []
    for mod, prefix in (("torchvision.models", "models/generated/"),
                        ("torchvision.datasets", "generated/"),
                        ("torchvision.transforms", "generated/"),
                        ("torchvision.transforms.v2", "generated/"),
                        ("torchvision.ops", "generated/"), ("torchvision.io", "generated/")):
        base = _generated(prefix)
        top = mod.split(".")[1]

        def page(full, module=False, base=base, top=top):
            return f"{top}.html#module-{full}" if module else base(full)

        lines += _entries(mod, page)
    return lines


def kornia_entries():
    lines = []
    for mod, path in (("kornia.augmentation", "augmentation.module.html"),
                      ("kornia.filters", "filters.html"), ("kornia.enhance", "enhance.html"),
                      ("kornia.color", "color.html"), ("kornia.losses", "losses.html"),
                      ("kornia.geometry.transform", "geometry.transform.html"),
                      ("kornia.metrics", "metrics.html"), ("kornia.utils", "utils.html")):
        lines += _entries(mod, _on_page(path))
    return lines


def write_inventory(path, project, version, entries):
    """Sphinx's inventory format, version 2: four header lines, then zlib-compressed lines."""
    seen = set()
    body = []
    for name, role, uri in entries:
        if (name, role) in seen:
            continue
        seen.add((name, role))
        if uri.endswith("#" + name):
            uri = uri[: -len(name)] + "$"
        body.append(f"{name} {role} 1 {uri} -")
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    data = header.encode() + zlib.compress(("\n".join(sorted(body)) + "\n").encode(), 9)
    Path(path).write_bytes(data)
    return len(body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] /
                                             "_inventories"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")  # deprecated aliases warn when inspected
    builders = {"sklearn": sklearn_entries, "torch": torch_entries, "skorch": skorch_entries,
                "torchvision": torchvision_entries, "kornia": kornia_entries}
    for key, project in PROJECTS.items():
        package = importlib.import_module(key)
        n = write_inventory(out / f"{key}.inv", project, package.__version__, builders[key]())
        print(f"{key}.inv: {n} entries ({project} {package.__version__})")


if __name__ == "__main__":
    main()
