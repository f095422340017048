"""The install groups of pyproject.toml, their locks and what each package imports.

``pip install .[server]`` must bring no Flet and the phone build no Litestar, uvicorn or
openpyxl. Nothing is installed here: the groups are read from pyproject.toml, their
resolved closures from the committed locks (requirements/*.txt, `make lock`), and the
imports of each package from its source (an ast scan).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
GROUPS = PYPROJECT["project"]["optional-dependencies"]
FIRST_PARTY = {"shared_schema", "sync_server", "field_app"}
#: The package, the lock its imports must be satisfied from, and what it must never import.
PACKAGES = {
    "shared_schema": (None, {"flet", "litestar", "uvicorn", "openpyxl", "sync_server", "field_app"}),
    "sync_server": ("server", {"flet", "flet_camera", "flet_geolocator", "flet_charts", "field_app"}),
    "field_app": ("phone", {"litestar", "uvicorn", "openpyxl", "sync_server"}),
}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return norm(re.split(r"[\[=<>!~; ]", spec, maxsplit=1)[0])


def pins(spec_list: list[str]) -> dict[str, str]:
    """``name==version`` lines (pyproject or lock) → {normalised name: version}."""
    out = {}
    for line in spec_list:
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[requirement_name(name)] = version.strip()
    return out


def lock(group: str) -> dict[str, str]:
    return pins((ROOT / "requirements" / f"{group}.txt").read_text(encoding="utf-8").splitlines())


def imported_modules(package: str) -> set[str]:
    """Top-level names of every absolute import in the package's source."""
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def third_party(package: str) -> set[str]:
    return {m for m in imported_modules(package)
            if m not in sys.stdlib_module_names and m not in FIRST_PARTY and m != "__future__"}


def test_the_server_group_and_its_lock_bring_no_flet() -> None:
    assert not [d for d in GROUPS["server"] if requirement_name(d).startswith("flet")]
    assert not [name for name in lock("server") if name.startswith("flet")], lock("server")


@pytest.mark.parametrize("forbidden", ["litestar", "uvicorn", "openpyxl"])
def test_the_phone_group_and_its_lock_bring_no_server_framework(forbidden: str) -> None:
    assert forbidden not in {requirement_name(d) for d in GROUPS["phone"]}
    assert forbidden not in lock("phone")


def test_the_base_is_what_shared_schema_needs() -> None:
    base = {requirement_name(d) for d in PYPROJECT["project"]["dependencies"]}
    assert base == {"msgspec"}
    assert third_party("shared_schema") == {"msgspec"}


def test_flet_build_installs_the_phone_group() -> None:
    # `flet build apk` reads project.dependencies and tool.flet.android.dependencies, not extras.
    assert PYPROJECT["tool"]["flet"]["android"]["dependencies"] == GROUPS["phone"]


def test_dev_installs_every_group() -> None:
    assert "wage-patrol[server,phone]" in [d.replace(" ", "") for d in GROUPS["dev"]]
    assert set(lock("server")) <= set(lock("dev")) and set(lock("phone")) <= set(lock("dev"))


@pytest.mark.parametrize("group", ["dev", "server", "phone"])
def test_each_lock_pins_what_pyproject_pins(group: str) -> None:
    """A pin changed in pyproject.toml without `make lock` fails here."""
    declared = pins(PYPROJECT["project"]["dependencies"] + GROUPS[group])
    locked = lock(group)
    assert {name: locked.get(name) for name in declared} == declared
    dev = lock("dev")
    assert {name: dev[name] for name in locked} == locked  # one version of each, across the locks


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_package_imports_what_its_group_leaves_out(package: str) -> None:
    _group, forbidden = PACKAGES[package]
    assert not imported_modules(package) & forbidden


@pytest.mark.parametrize("package", ["sync_server", "field_app"])
def test_every_import_is_installed_by_the_package_group(package: str) -> None:
    """Each third-party module the package imports comes from a distribution of its lock."""
    group, _forbidden = PACKAGES[package]
    provided = importlib.metadata.packages_distributions()
    locked = set(lock(group))
    missing = {m: provided.get(m) for m in third_party(package)
               if not {norm(d) for d in provided.get(m, [])} & locked}
    assert not missing, missing
