"""The watchdog installs on a camera workstation on its own: no server code, few dependencies.

Pillow belongs to the simulator's `simulate` extra: only the picture module may import it, and
only when a picture is made."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import fundus_watchdog

PACKAGE = Path(fundus_watchdog.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_the_watchdog_imports_the_server_or_django():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    for source in sources:
        forbidden = {"fundushub", "django", "rest_framework"}
        if source.name != "fundus_image.py":  # the simulator's pictures, from the extra
            forbidden.add("PIL")
        for name in imported_modules(source):
            assert name.split(".")[0] not in forbidden, f"{source.name} imports {name}"


def test_importing_every_module_loads_nothing_from_the_server_or_pillow():
    modules = [
        f"fundus_watchdog.{p.stem}" for p in sorted(PACKAGE.glob("*.py")) if p.stem != "__main__"
    ]
    code = f"import sys; import {', '.join(modules)}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for forbidden in ("'fundushub'", "'django'", "'PIL'"):
        assert forbidden not in loaded


def test_its_only_dependencies_are_watchdog_and_requests():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert project["name"] == "fundus-watchdog"
    assert sorted(d.split(">")[0].split("=")[0] for d in project["dependencies"]) == [
        "requests",
        "watchdog",
    ]
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"] == {"fundus-watchdog": "fundus_watchdog.cli:main"}
    assert project["optional-dependencies"] == {"simulate": ["pillow>=11"]}


def test_the_server_installs_the_watchdog_with_its_simulator_only_for_the_demo_by_default():
    server = tomllib.loads((PACKAGE.parents[2] / "pyproject.toml").read_text())
    assert not any("fundus-watchdog" in d for d in server["project"]["dependencies"])
    assert server["dependency-groups"]["demo"] == ["fundus-watchdog[simulate]"]
    assert "demo" in server["tool"]["uv"]["default-groups"]  # `uv run fundushub demo`, no flag
