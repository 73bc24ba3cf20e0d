"""docs/asyncapi.yaml agrees with what the code emits and consumes."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml

from shared import envelope
from tests.conftest import ROOT

DOC = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
MESSAGES = {m["name"]: m for m in DOC["components"]["messages"].values()}
SERVICES = ["registry", "attendance", "cases", "reporting"]


def _resolve(module, node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None) or getattr(envelope, node.id)
    raise AssertionError(f"cannot resolve {ast.dump(node)}")


def _returned_keys(tree: ast.Module, function: str) -> set[str]:
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    ret = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and isinstance(n.value, ast.Dict)][-1]
    return {k.value for k in ret.value.keys if isinstance(k, ast.Constant)}


def emits() -> list[tuple[str, str, str, set[str]]]:
    """(service, topic, type, data keys) for every uow.emit(...) in the services' handlers."""
    found = []
    for service in SERVICES:
        path = ROOT / "services" / service / service / "handlers.py"
        tree = ast.parse(path.read_text())
        module = importlib.import_module(f"{service}.handlers")
        calls_to = {t.id: v.value.func.id for v in ast.walk(tree)
                    if isinstance(v, ast.Assign) and isinstance(v.value, ast.Call) and isinstance(v.value.func, ast.Name)
                    for t in v.targets if isinstance(t, ast.Name)}
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "emit"):
                continue
            kw = {k.arg: k.value for k in call.keywords}
            keys: set[str] = set()
            data = kw["data"]
            if isinstance(data, ast.Dict):
                for k, v in zip(data.keys, data.values):
                    if k is not None:
                        keys.add(k.value)
                    elif isinstance(v, ast.Name):  # **facts, built by a helper in the module
                        keys |= _returned_keys(tree, calls_to[v.id])
            elif isinstance(data, ast.Name):  # data=row: the dict literal assigned to it
                row = next(v.value for v in ast.walk(tree) if isinstance(v, ast.Assign)
                           and any(isinstance(t, ast.Name) and t.id == data.id for t in v.targets)
                           and isinstance(v.value, ast.Dict))
                keys = {k.value for k in row.keys if isinstance(k, ast.Constant)}
            found.append((service, _resolve(module, kw["topic"]), _resolve(module, kw["type"]), keys))
    return found


EMITS = emits()


def test_the_document_is_asyncapi_3_over_the_contract_topics():
    assert DOC["asyncapi"].startswith("3.")
    topics = {envelope.TOPIC_REGISTRY, envelope.TOPIC_ATTENDANCE, envelope.TOPIC_CASES, envelope.TOPIC_REPORTS}
    assert {c["address"] for c in DOC["channels"].values()} == topics


def test_the_scan_found_the_emits():
    assert {t for _, _, t, _ in EMITS} >= {"baoxue.registry.student.enrolled",
                                           "baoxue.attendance.absence.threshold_reached",
                                           "baoxue.cases.dual_report.issued"}


@pytest.mark.parametrize("service, topic, event_type, keys", EMITS, ids=[e[2] for e in EMITS])
def test_every_emitted_event_is_documented_on_its_topic_with_exactly_its_fields(service, topic, event_type, keys):
    assert event_type in MESSAGES, f"{event_type} is emitted by {service} but not in docs/asyncapi.yaml"
    message = MESSAGES[event_type]
    channel = next(c for c in DOC["channels"].values() if c["address"] == topic)
    assert any(ref["$ref"].endswith("/" + name) for name, ref in channel["messages"].items()
               if DOC["components"]["messages"][name]["name"] == event_type), f"{event_type} not on {topic}"
    payload = message["payload"]
    assert keys - set(payload["properties"]) == set(), "emitted but not documented"
    assert set(payload["required"]) - keys == set(), "documented as required but not emitted"


def test_every_consumed_type_is_documented():
    for service in SERVICES:
        handlers = getattr(importlib.import_module(f"{service}.bootstrap"), "HANDLERS", {})
        assert set(handlers) - set(MESSAGES) == set(), service


def test_planned_messages_are_marked_and_the_rest_are_emitted():
    emitted = {t for _, _, t, _ in EMITS}
    for name, message in MESSAGES.items():
        assert (name in emitted) != (message.get("x-status") == "planned"), name
