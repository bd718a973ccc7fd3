"""The documentation's promises, checked on every public name of every public module.

- Every public function's and class's ``Examples`` section runs as a doctest (one test per
  name, the test id is the name).
- Every public function and class has an ``Examples`` section.
- Every estimator parameter (``get_params(deep=False)``) is documented in the class docstring
  with a type and a ``default=`` that matches the signature's default.
- The docs configuration imports and its API reference lists every public name.

The public names come from ``docs/_tools/public_api.py`` (the modules' ``__all__``), the same
list the API reference is generated from. Constants are exempt from the first three checks
(they are documented as data, by a ``#:`` comment).
"""

import ast
import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator
from skorch import NeuralNet

import skspectral

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_tools"))
from public_api import PUBLIC_MODULES, public_names  # noqa: E402

NAMES = public_names()
# Each object once, under the module that documents it; constants are documented as data.
DOCUMENTED = [n for n in NAMES if n.is_canonical and n.kind != "data"]
ESTIMATORS = [n for n in DOCUMENTED if n.kind == "class" and issubclass(n.obj, BaseEstimator)]
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Modules of the package that are not part of the Python API, and why.
NOT_API = {
    "skspectral.cli": "the command line (`skspectral --help` documents it)",
    "skspectral.__main__": "`python -m skspectral`, the command line",
}


def _ids(entries):
    return [n.canonical for n in entries]


def numpydoc_sections(doc):
    """``{section title: body}`` of a numpydoc docstring (a title is underlined by dashes)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    sections, title, body = {}, "", []
    for i, line in enumerate(lines):
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.strip() and underline and set(underline) == {"-"} \
                and len(underline) == len(line.strip()):
            sections[title] = body
            title, body = line.strip(), []
        elif not (set(line.strip()) == {"-"} and body == [] and title):
            body.append(line)
    sections[title] = body
    return {k: "\n".join(v) for k, v in sections.items()}


def documented_parameters(doc):
    """``{name: type text}`` of the Parameters section (``a, b : int`` documents both)."""
    params = {}
    for line in numpydoc_sections(doc).get("Parameters", "").splitlines():
        if not line or line[0].isspace():
            continue
        names, _, type_text = line.partition(":")
        for name in names.split(","):
            params[name.strip().lstrip("*")] = type_text.strip()
    return params


# --------------------------------------------------------------------------- doctests


@pytest.fixture
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize("entry", DOCUMENTED, ids=_ids(DOCUMENTED))
def test_examples_run_as_doctests(entry, _close_figures):
    """The ``Examples`` section of the name's own docstring runs and prints what it shows."""
    if "matplotlib" in sys.modules or importlib.util.find_spec("matplotlib"):
        importlib.import_module("matplotlib").use("Agg")
    finder = doctest.DocTestFinder(recurse=False)
    module = sys.modules[entry.module]
    tests = [t for t in finder.find(entry.obj, entry.canonical, module=module,
                                    globs={"__name__": entry.module}) if t.examples]
    if not tests:
        pytest.fail(f"{entry.canonical} has no doctest examples (an Examples section in "
                    "doctest format, '>>> ' lines)")
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    failed = runner.summarize(verbose=False).failed
    assert failed == 0, f"{entry.canonical}: {failed} failing example(s)\n" + "".join(report)


# --------------------------------------------------------------------------- Examples sections


@pytest.mark.parametrize("entry", DOCUMENTED, ids=_ids(DOCUMENTED))
def test_public_functions_and_classes_have_an_examples_section(entry):
    sections = numpydoc_sections(entry.obj.__doc__)  # its own, not a base class's
    assert "Examples" in sections, f"{entry.canonical}: no Examples section in its docstring"
    assert ">>>" in sections["Examples"], f"{entry.canonical}: Examples has no '>>> ' example"


# --------------------------------------------------------------------------- parameters


def _estimator_params(cls):
    """The parameters ``cls`` documents: ``get_params(deep=False)`` of a default instance,
    less those a scikit-learn/skorch base defines (skorch's ``lr``, ``max_epochs``... are
    documented by skorch); and the ``__init__`` signature.

    Required parameters (no default; e.g. a network's ``module``) are passed as None, which
    scikit-learn's convention of storing parameters unvalidated allows (a skorch net also
    requires ``criterion``). An abstract base cannot be instantiated; its parameters are its
    signature's, which is what ``get_params`` reads.
    """
    sig = inspect.signature(cls.__init__)
    ours = {name for klass in cls.__mro__ if klass.__module__.startswith("skspectral")
            for name, p in inspect.signature(klass.__init__).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    params = [p for p in list(sig.parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if inspect.isabstract(cls):
        return [p.name for p in params], sig
    required = {p.name: None for p in params if p.default is p.empty}
    if issubclass(cls, NeuralNet):
        required.setdefault("criterion", None)
    return [n for n in cls(**required).get_params(deep=False) if n in ours], sig


def _default_matches(text, value):
    """Whether ``default=`` text states the signature's default (a literal, or its repr)."""
    try:
        stated = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip("`") == repr(value)
    # 0 states 0.0, but True does not state 1, nor [100] (100,).
    return stated == value and isinstance(stated, bool) == isinstance(value, bool) \
        and isinstance(stated, (tuple, list)) == isinstance(value, (tuple, list)) \
        and (not isinstance(value, (tuple, list)) or type(stated) is type(value))


@pytest.mark.parametrize("entry", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_every_estimator_parameter_is_documented_with_type_and_default(entry):
    names, sig = _estimator_params(entry.obj)
    documented = documented_parameters(entry.obj.__doc__)
    problems = []
    for name in names:
        if name not in documented:
            problems.append(f"{name}: not in the Parameters section")
            continue
        type_text = documented[name]
        match = re.search(r"default\s*=\s*(.+)$", type_text)
        kind = re.sub(r",?\s*default\s*=.*$", "", type_text).strip()
        if not kind:
            problems.append(f"{name}: no type (`{name} : type, default=...`)")
        default = sig.parameters[name].default if name in sig.parameters else inspect._empty
        if default is inspect._empty:
            continue  # a required parameter has no default to state
        if match is None:
            problems.append(f"{name}: no default= (the signature's is {default!r})")
        elif not _default_matches(match.group(1).strip(), default):
            problems.append(f"{name}: documented default={match.group(1).strip()}, "
                            f"the signature's is {default!r}")
    assert not problems, f"{entry.canonical}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- the site


def test_the_public_modules_are_every_module_of_the_package_but_the_cli():
    found = {f"skspectral.{m.name}" for m in pkgutil.iter_modules(skspectral.__path__)
             if not m.name.startswith("_") or m.name == "__main__"}
    assert found - set(NOT_API) == set(PUBLIC_MODULES) - {"skspectral"}


def test_docs_configuration_imports_and_the_api_reference_lists_every_public_name(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("numpydoc", reason="the docs extra: pip install -e '.[docs]'")
    spec = importlib.util.spec_from_file_location("skspectral_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)  # conf.py writes docs/api.rst from the modules' __all__
    conf.write_api_rst(tmp_path / "api.rst")
    api = (tmp_path / "api.rst").read_text()
    sections = re.split(r"^``(skspectral[\w.]*)``\n-+\n", api, flags=re.M)
    listed = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert list(listed) == list(PUBLIC_MODULES)
    for entry in NAMES:
        body = listed[entry.module]
        if entry.is_canonical:  # its own page, from the module's autosummary
            assert re.search(rf"^   {re.escape(entry.name)}$", body, re.M), entry.qualname
        else:  # a link to the page of the module that documents it
            assert f"``{entry.name}``: :" in body and f":`{entry.canonical}`" in body, \
                entry.qualname
    assert {"numpydoc", "sphinx_gallery.gen_gallery", "myst_parser",
            "sphinx.ext.intersphinx"} <= set(conf.extensions)
    assert {"PR01", "PR02", "PR07", "GL08", "EX01"} <= conf.numpydoc_validation_checks
    for _, (_, files) in conf.intersphinx_mapping.items():
        assert all((DOCS / f).is_file() for f in files), files  # never a download
    # nitpick_ignore_regex is for external names without an inventory, never ours.
    for entry in NAMES:
        for _, target in conf.nitpick_ignore_regex:
            assert not re.fullmatch(target, entry.qualname), (target, entry.qualname)
            assert not re.fullmatch(target, entry.name), (target, entry.name)
    # The gallery executes plot_*.py only, and skips helper modules such as _mnist.py.
    gallery = conf.sphinx_gallery_conf
    examples = Path(gallery["examples_dirs"])
    executed = {p.name for p in examples.glob("*.py")
                if re.search(gallery["filename_pattern"], str(p))}
    ignored = {p.name for p in examples.glob("*.py")
               if re.search(gallery["ignore_pattern"], str(p))}
    assert executed == {p.name for p in examples.glob("plot_*.py")} and executed
    assert ignored == {p.name for p in examples.glob("_*.py")}
    assert gallery["abort_on_example_error"]


def test_numpydoc_sections_and_parameters_are_read_as_numpydoc_writes_them():
    doc = """Summary.

    Parameters
    ----------
    a, b : int, default=3
        Two.
    c : {"x", "y"}, default="x"
        Choice.

    Examples
    --------
    >>> 1
    1
    """
    assert set(numpydoc_sections(doc)) == {"", "Parameters", "Examples"}
    assert documented_parameters(doc) == {"a": "int, default=3", "b": "int, default=3",
                                          "c": '{"x", "y"}, default="x"'}
    assert _default_matches('"x"', "x") and _default_matches("'x'", "x")
    assert _default_matches("(100,)", (100,)) and not _default_matches("[100]", (100,))
    assert _default_matches("None", None) and _default_matches("0", 0.0)
    assert not _default_matches("True", 1) and _default_matches("1e-4", 0.0001)
