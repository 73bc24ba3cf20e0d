"""A service's domain, use cases and queries never import its entrypoints: the routes turn a
request body into a plain command (``<svc>/entrypoints/commands.py``) and the layers below take
that, so a use case can be called by a job, a consumer or a test without an HTTP schema. Lazy
imports in a function body and imports for annotations only count too. And a service's reads
(``queries/``) never import its writes (``usecases/``): a helper both need, a scope look-up, is a
query the use cases import."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_import_cycles import PACKAGES, ROOT, _imports, _modules

SERVICES = {package for package, folder in PACKAGES.items() if folder.is_relative_to(ROOT / "services")}
LAYERS = ("domain", "usecases", "queries")


def _imports_across(modules: dict[str, Path], layers: tuple[str, ...], forbidden: str) -> dict[str, list[str]]:
    """Each module of a service's ``layers`` -> the modules of that service's ``forbidden``
    package it imports (lazy and annotation-only imports included)."""
    known = set(modules)
    found: dict[str, list[str]] = {}
    for name, path in modules.items():
        service, _, rest = name.partition(".")
        if service not in SERVICES or rest.partition(".")[0] not in layers:
            continue
        package = f"{service}.{forbidden}"
        reached = sorted(t for t in _imports(name, path, known, type_only_too=True)
                         if t == package or t.startswith(package + "."))
        if reached:
            found[name] = reached
    return found


def _entrypoint_imports(modules: dict[str, Path]) -> dict[str, list[str]]:
    """Each domain, use-case or query module -> the modules of its service's entrypoints it imports."""
    return _imports_across(modules, LAYERS, "entrypoints")


def test_no_domain_usecase_or_query_module_imports_its_entrypoints():
    assert _entrypoint_imports(_modules()) == {}


def test_the_check_sees_lazy_and_annotation_only_imports(tmp_path: Path):
    lazy, typed, fine = tmp_path / "lazy.py", tmp_path / "typed.py", tmp_path / "fine.py"
    lazy.write_text("def f():\n    from ..entrypoints.schemas import students\n", encoding="utf-8")
    typed.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    import registry.entrypoints.schemas.orgs\n", encoding="utf-8")
    fine.write_text("from registry.domain import model\nfrom cases.entrypoints import deps\n", encoding="utf-8")
    elsewhere = tmp_path / "unread.py"  # known names only: outside the layers, never parsed
    modules = {"registry.usecases.lazy": lazy, "registry.queries.typed": typed, "registry.domain.fine": fine,
               "registry.entrypoints.schemas.students": elsewhere,
               "registry.entrypoints.schemas.orgs": elsewhere, "cases.entrypoints.deps": elsewhere}
    found = _entrypoint_imports(modules)
    assert "registry.entrypoints.schemas.students" in found["registry.usecases.lazy"]
    assert "registry.entrypoints.schemas.orgs" in found["registry.queries.typed"]
    assert "registry.domain.fine" not in found


def _reads_importing_writes(modules: dict[str, Path]) -> dict[str, list[str]]:
    """Each query module -> the use-case modules of its service it imports."""
    return _imports_across(modules, ("queries",), "usecases")


def test_no_query_module_imports_a_use_case():
    assert _reads_importing_writes(_modules()) == {}


def test_the_check_sees_a_read_importing_a_write(tmp_path: Path):
    read, write = tmp_path / "read.py", tmp_path / "write.py"
    read.write_text("def f():\n    from cases.usecases.standing import set_standing\n", encoding="utf-8")
    write.write_text("from cases.queries.read import f\n", encoding="utf-8")
    modules = {"cases.queries.read": read, "cases.usecases.standing": write}
    assert _reads_importing_writes(modules) == {"cases.queries.read": ["cases.usecases.standing"]}
