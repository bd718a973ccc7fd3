"""The import graph flows one way (docs/architecture.md).

- Every module of the package belongs to one layer of the table below.
- A module imports (at the top or inside a function) only from its own layer or the layers
  beneath it; within a layer, modules of another package of that layer are not imported.
- The graph of modules has no circle (a package's ``__init__`` re-exporting its own
  submodules is the package, not a circle).
- No function is longer than ``MAX_FUNCTION_LINES`` lines of code.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skspectral"

#: Layers from the ground floor up: a module's layer is that of its longest listed prefix.
LAYERS = [
    ("skspectral._version", "skspectral._collectives", "skspectral._params",
     "skspectral._threads", "skspectral._files", "skspectral._checks"),
    ("skspectral.datasets",),
    ("skspectral.spectral",),
    ("skspectral.regularization",),
    ("skspectral.models",),
    ("skspectral.data",),
    ("skspectral.training",),
    ("skspectral.estimators",),
    ("skspectral.attacks",),
    ("skspectral.metrics",),
    ("skspectral.report", "skspectral.autoattack"),
    ("skspectral.plotting",),
    ("skspectral.parallel",),  # the Dask edge: only the application layers above use it
    ("skspectral.experiments",),
    ("skspectral.cli",),
    ("skspectral.__main__", "skspectral"),
]


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Every ``skspectral`` module ``path`` imports, at any depth of its code."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target]
            if not node.module or node.level:  # `from . import x`: x may be a module
                targets += [f"{target}.{alias.name}" for alias in node.names]
            found.update(t for t in targets if _is_module(t))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if _is_module(a.name))
    return found


def _is_module(name):
    if name != "skspectral" and not name.startswith("skspectral."):
        return False
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return ((PACKAGE / relative).with_suffix(".py").is_file()
            or (PACKAGE / relative / "__init__.py").is_file())


def _layer(name):
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (level, prefix)
    return best


GRAPH = {_module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_every_module_has_a_layer(module):
    assert _layer(module) is not None, (
        f"{module} belongs to no layer: add it to LAYERS here and to docs/architecture.md")


def test_no_import_runs_up_a_layer_or_across_a_layer():
    wrong = []
    for module, targets in GRAPH.items():
        here = _layer(module)
        for target in targets:
            there = _layer(target)
            if there is None or here is None:
                continue
            if there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]
                                      and module != "skspectral"):
                wrong.append(f"{module} (layer {here[0]}) imports {target} (layer {there[0]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_import_graph_has_no_circle():
    def without_own_package(module, targets):
        # a package's __init__ importing its submodules, and a submodule importing a
        # sibling through the package, are one package, not a circle
        return {t for t in targets
                if not (t.startswith(module + ".") or module.startswith(t + "."))}

    graph = {m: without_own_package(m, t) for m, t in GRAPH.items()}
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_version_is_written_once():
    import skspectral
    from skspectral._version import __version__

    assert skspectral.__version__ == __version__
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'attr = "skspectral._version.__version__"' in pyproject


#: The longest a function of the package may be, in lines of code (docstring, blank and
#: comment-only lines not counted): longer ones are split where they do two jobs.
MAX_FUNCTION_LINES = 40


def _code_lines(lines, node):
    first = node.body[0]
    docstring = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                 and isinstance(first.value.value, str))
    skip = set(range(first.lineno, first.end_lineno + 1)) if docstring else set()
    return sum(1 for number in range(node.lineno, node.end_lineno + 1)
               if number not in skip and lines[number - 1].strip()
               and not lines[number - 1].strip().startswith("#"))


def test_code_lines_count_code_only():
    source = '''def f(x):
    """Doc.

    More doc.
    """
    # a comment

    return x
'''
    node = ast.parse(source).body[0]
    assert _code_lines(source.splitlines(), node) == 2


def test_no_function_is_longer_than_the_limit():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(lines, node)
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                f"{node.name}: {n} lines")
    assert not long, "functions longer than the limit:\n" + "\n".join(long)
