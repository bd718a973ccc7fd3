"""Every third-party module skspectral imports is declared in pyproject.toml.

A module is either a dependency (``[project] dependencies``) or belongs to an optional extra
(``[project.optional-dependencies]``); an extra's module is imported only inside functions,
and without it the error names the extra (``pip install 'skspectral[plot]'``).
"""

import ast
import re
import subprocess
import sys
import textwrap
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "skspectral"

#: Lazy imports of an extra that are not guarded where they stand, and where the error that
#: names the extra is raised instead.
GUARDED_ELSEWHERE = {
    # `skspectral reproduce` catches the ImportError of its figures and warns, naming the
    # extra (tests/test_reproduce.py runs it without matplotlib).
    "experiments/_figures.py": "plot",
}


def _normalize(name):
    """PEP 503 name of a distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement):
    return _normalize(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


@pytest.fixture(scope="module")
def project():
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


@cache
def _installed():
    return packages_distributions()


def _distributions(module):
    """Distributions (normalized names) that provide the top-level import ``module``."""
    # installed metadata; the hand map covers modules whose distribution is not installed
    known = {"sklearn": ["scikit-learn"], "PIL": ["pillow"], "yaml": ["pyyaml"]}
    return {_normalize(d) for d in _installed().get(module, known.get(module, []))}


class _Imports(ast.NodeVisitor):
    """Absolute imports of one file: (top-level module, line, lazy, extras its guard names)."""

    def __init__(self):
        self.found = []
        self._functions = 0
        self._guards = []  # messages of the ImportError handlers enclosing the current node

    def visit_FunctionDef(self, node):
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Try(self, node):
        messages = [
            ast.unparse(handler) for handler in node.handlers
            if handler.type is not None and "ImportError" in ast.unparse(handler.type)]
        self._guards.append(" ".join(messages))
        for statement in node.body:
            self.visit(statement)
        self._guards.pop()
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    def _add(self, node, names):
        extras = set(re.findall(r"skspectral\[(\w+)\]", " ".join(self._guards)))
        for name in names:
            self.found.append((name.split(".")[0], node.lineno, self._functions > 0, extras))

    def visit_Import(self, node):
        self._add(node, [alias.name for alias in node.names])

    def visit_ImportFrom(self, node):
        if node.level == 0:
            self._add(node, [node.module])


def _third_party_imports():
    """``{top-level module: [(file, line, lazy, guard extras)]}`` over skspectral/."""
    imports = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        for module, line, lazy, extras in visitor.found:
            if module in sys.stdlib_module_names or module == "skspectral":
                continue
            imports.setdefault(module, []).append(
                (path.relative_to(PACKAGE).as_posix(), line, lazy, extras))
    return imports


def test_the_import_walk_sees_the_known_imports():
    imports = _third_party_imports()
    assert {"torch", "numpy", "sklearn", "skorch", "scipy", "matplotlib"} <= set(imports)
    assert not {"os", "math", "skspectral", "__future__"} & set(imports)
    sites = {site[0]: site for site in imports["matplotlib"]}
    assert sites["plotting.py"][2] and sites["plotting.py"][3] == {"plot"}  # lazy, guarded


def test_every_imported_module_is_a_declared_dependency_or_a_lazy_extra(project):
    declared = {_requirement_name(r) for r in project["dependencies"]}
    extras = {extra: {_requirement_name(r) for r in requirements}
              for extra, requirements in project["optional-dependencies"].items()
              if extra != "dev"}  # the development tools are no extra for users
    problems = []
    for module, sites in sorted(_third_party_imports().items()):
        distributions = _distributions(module)
        if not distributions:
            problems.append(f"{module}: no installed distribution provides it")
        elif distributions & declared:
            continue
        owners = {extra for extra, names in extras.items() if distributions & names}
        if not owners:
            problems.append(f"{module} ({sorted(distributions)}): imported at "
                            f"{sites[0][0]}:{sites[0][1]} but neither a dependency nor in an "
                            "extra of pyproject.toml")
            continue
        for path, line, lazy, named in sites:
            if not lazy:
                problems.append(f"{path}:{line}: {module} (extra {sorted(owners)}) is imported "
                                "at module level; import it inside the function that needs it")
            elif not (named & owners or GUARDED_ELSEWHERE.get(path) in owners):
                problems.append(f"{path}:{line}: without {module} the ImportError does not name "
                                f"the extra {sorted(owners)} (pip install 'skspectral[...]')")
    assert not problems, "\n".join(problems)


def test_every_declared_dependency_is_imported(project):
    imported = set().union(*map(_distributions, _third_party_imports()))
    unused = {_requirement_name(r) for r in project["dependencies"]} - imported
    assert not unused, f"declared but never imported by skspectral: {sorted(unused)}"


def test_without_matplotlib_skspectral_imports_and_plotting_names_the_extra():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        sys.modules["matplotlib"] = None  # as if not installed: `import matplotlib` fails
        import skspectral
        for info in pkgutil.walk_packages(skspectral.__path__, "skspectral."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
        from skspectral.plotting import plot_seed_boxes
        try:
            plot_seed_boxes({"none": [0.5]}, "accuracy")
        except ImportError as exc:
            print("ImportError:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ImportError:" in done.stdout and "skspectral[plot]" in done.stdout, done.stdout
