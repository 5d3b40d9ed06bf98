"""The package layout follows the data flow: a module may import its own stage and the stages
before it, never one after it (data -> model -> quantizer -> training -> integer model ->
exporters / C code generation -> firmware build -> HIL -> experiments -> pipeline/CLI).

Exporters and C generation are one stage: the C export target is the generated C, so
``export`` may call ``codegen``; ``codegen`` never imports ``export``."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# installed as ecqx.<name> (pyproject's package-dir)
PACKAGES = {"ecqx": ROOT / "ecqx", "ecqx.export": ROOT / "export",
            "ecqx.codegen": ROOT / "codegen", "ecqx.hil": ROOT / "hil"}  # fmt: skip
# prefix -> position in the flow; the longest matching prefix decides
STAGES = {
    "ecqx": 0,  # facts every stage shares: bits, config, errors, files, checkpoint I/O
    "ecqx.data": 1,
    "ecqx.model": 2,
    "ecqx.quantizer": 3,
    "ecqx.train": 4,
    "ecqx.train_images": 4,
    "ecqx.bench": 4,
    "ecqx.integer": 5,
    "ecqx.export": 6,
    "ecqx.codegen": 6,
    "ecqx.codegen.boards": 6,
    "ecqx.codegen.firmware_build": 7,
    "ecqx.hil": 8,
    "ecqx.sweep": 9,
    "ecqx.sweep_plots": 9,
    "ecqx.sweep_tables": 9,
    "ecqx.holdout": 9,
    "ecqx.prune": 9,
    "ecqx.weight_sharing": 9,
    "ecqx.keyword": 9,
    "ecqx.streaming": 9,
    "ecqx.pipeline": 10,
    "ecqx.commands": 11,
    "ecqx.cli": 11,
}


def stage(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in STAGES:
            return STAGES[".".join(parts[:n])]
    raise AssertionError(f"{module} belongs to no stage")


def modules() -> dict[str, Path]:
    found = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            nested = pkg == "ecqx" and parts and f"ecqx.{parts[0]}" in PACKAGES
            if nested or any(p.startswith(".") for p in rel.parts):
                continue
            found[".".join([pkg, *parts])] = path
    return found


def imports(path: Path) -> set[str]:
    """Every ecqx module ``path`` imports, function-local imports included."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {m for m in out if m == "ecqx" or m.startswith("ecqx.")}


def test_every_import_points_down_the_flow():
    found = modules()
    assert "ecqx.quantizer.assign" in found and "ecqx.hil.run" in found and len(found) > 50
    upward = [
        f"{name} (stage {stage(name)}) imports {dep} (stage {stage(dep)})"
        for name, path in sorted(found.items())
        for dep in sorted(imports(path))
        if stage(dep) > stage(name)
    ]
    assert upward == []


def test_c_generation_does_not_import_the_exporters():
    found = modules()
    back = [
        f"{name} imports {dep}"
        for name, path in sorted(found.items())
        if name.startswith("ecqx.codegen")
        for dep in sorted(imports(path))
        if dep.startswith("ecqx.export")
    ]
    assert back == []


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from ecqx.hil.run import hil\n")
    assert stage("ecqx.integer.model") < min(stage(d) for d in imports(bad))
