"""The package's import graph: layers point one way and no module imports itself back (the checks of
an import-linter contract, on every import statement, function-level ones included)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "vfilib"
LAYERS = ["vfilib.config", "vfilib.core", "vfilib.models", "vfilib.data", "vfilib.eval", "vfilib.train",
          "vfilib.reports", "apps"]
APPS = {"vfilib.interpolate", "vfilib.bench", "vfilib.workbook", "vfilib.doctor", "vfilib.cli", "vfilib.summary",
        "vfilib.ship"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of the vfilib modules one file imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("vfilib"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)       # `from . import checkpoint`
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("vfilib"))
    return out


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in imports(p) if i in files and i != m} for m, p in files.items()}


def layer(mod: str) -> int:
    if mod in APPS:
        return len(LAYERS) - 1
    for k, prefix in enumerate(LAYERS[:-1]):
        if mod == prefix or mod.startswith(prefix + "."):
            return k
    return 0 if mod == "vfilib" else len(LAYERS) - 1


def test_layers_point_one_way():
    bad = [f"{m} ({LAYERS[layer(m)]}) imports {i} ({LAYERS[layer(i)]})"
           for m, deps in graph().items() for i in deps
           if layer(i) > layer(m)]
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    g = graph()
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in g.get(m, ()):
            if d.startswith(m + "."):
                continue                    # a package __init__ importing its own modules
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", ["vfilib.models.vfi", "vfilib.train.loop", "vfilib.eval.benchmark"])
def test_the_graph_sees_real_imports(name):
    assert graph()[name], f"{name} should import something of vfilib (the parser is broken otherwise)"


def test_a_violation_would_be_caught(tmp_path, monkeypatch):
    """The checks themselves can fail: core importing models is reported."""
    real = imports
    monkeypatch.setattr(__import__(__name__), "imports",
                        lambda p: real(p) | ({"vfilib.models.vfi"} if p.name == "tensors.py" else set()))
    with pytest.raises(AssertionError, match="vfilib.core.tensors .* imports vfilib.models.vfi"):
        test_layers_point_one_way()


def test_the_readme_names_every_app_module():
    """README's "How the code is laid out" names each module of the apps layer (as ``name.py``)."""
    readme = (ROOT.parent / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    apps = [p for p in ROOT.glob("*.py") if layer(module_name(p)) == len(LAYERS) - 1 and p.name != "__init__.py"]
    assert apps
    missing = [p.name for p in apps if f"`{p.name}`" not in section]
    assert not missing, f"README's layout section does not name {missing}"


def test_small_modules_and_functions():
    """Issue 26: no module of vfilib over 450 lines, no function over 50 (a long one is read in parts)."""
    long_modules, long_functions = [], []
    for path in sorted(ROOT.rglob("*.py")):
        src = path.read_text()
        if len(src.splitlines()) > 450:
            long_modules.append(f"{path.relative_to(ROOT)}: {len(src.splitlines())} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 50:
                long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: "
                                      f"{node.end_lineno - node.lineno + 1} lines")
    assert long_modules == [] and long_functions == []
