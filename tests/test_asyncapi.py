"""docs/asyncapi.yaml agrees with what the code emits and consumes.

Nothing here needs a broker: the emits are read from the handlers' source (``ast`` for the
``data={...}`` literals, a regex as a second, independent scan for ``type=``), the consumers from
the bootstrap modules' HANDLERS and topics, the envelope from ``shared.envelope``.
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pytest
import yaml

from shared import envelope
from tests.conftest import ROOT, SETTINGS

DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
SERVICES = ["registry", "attendance", "cases", "reporting"]
TOPICS = {envelope.TOPIC_REGISTRY, envelope.TOPIC_ATTENDANCE, envelope.TOPIC_CASES, envelope.TOPIC_REPORTS,
          envelope.TOPIC_DEADLETTER}
# Modules of shared/ that emit (every consuming service, through its consumer).
SHARED_EMITTERS = {"shared.deadletters": ROOT / "shared" / "deadletters.py"}
# The event-type constants each producing module declares (emitted or planned).
TYPE_CONSTANTS = {
    "registry.handlers": ["ORG_REGISTERED", "STUDENT_ENROLLED"],
    "registry.records": ["STUDENT_STATUS_CHANGED", "TRANSFER_OVERDUE"],
    "registry.promotion": ["CLASS_PROMOTED"],
    "registry.population": ["SUSPECTED_OUT_OF_SCHOOL", "OUTSIDE_COMPULSORY_AGE"],
    "registry.watch": ["BOARDING_OVERDUE", "SUSPENSION_OVERDUE"],
    "registry.flags": ["STUDENT_FLAGS_CHANGED"],
    "registry.merges": ["STUDENT_MERGED"],
    "attendance.handlers": ["THRESHOLD_REACHED", "STUDENT_RETURNED", "CHRONIC_ABSENCE_FLAGGED"],
    "attendance.completeness": ["RECORDED", "MISSING", "FILLED_LATE", "ESCALATED"],
    "cases.usecases.ladder": ["LEGAL_STEP_ESCALATED"],
    "cases.usecases.common": ["CASE_OPENED", "CASE_STATUS_CHANGED", "CASE_CLOSED", "REPORT_ISSUED", "REPORT_ACKNOWLEDGED",
                       "REPORT_ESCALATED", "REPORT_WITHDRAWN", "HOME_VISIT_RECORDED", "RESPONSIBILITY_ASSIGNED",
                       "PLAN_ITEM_ADDED"],
}
EVENT_TYPE = re.compile(r"^baoxue(\.[a-z_]+){3}$")  # baoxue.<service>.<entity>.<fact>; topics have 3 parts


# --- the document ----------------------------------------------------------------------------

@lru_cache
def doc() -> dict[str, Any]:
    return yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))


def deref(node: Any) -> Any:
    """Follow local ``$ref``s (``#/a/b``) until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used: {ref}"
        node = doc()
        for part in ref[2:].split("/"):
            assert part in node, f"dangling $ref {ref}"
            node = node[part]
    return node


def messages() -> dict[str, dict[str, Any]]:
    """Documented messages by event type (their ``name``)."""
    out = {}
    for key, message in doc()["components"]["messages"].items():
        assert message["name"] not in out, f"{message['name']} documented twice"
        out[message["name"]] = message
    return out


def trait_field(message: dict[str, Any], *path: str) -> Any:
    """A field of the message, or of the first of its traits that has it (traits merge in)."""
    for source in [message, *(deref(t) for t in message.get("traits", []))]:
        node = source
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    return None


def types_of(refs: list[dict[str, str]]) -> set[str]:
    return {deref(r)["name"] for r in refs}


def operations(action: str, service: str) -> list[dict[str, Any]]:
    return [op for op in doc()["operations"].values()
            if op["action"] == action and service in {deref(t)["name"] for t in op.get("tags", [])}]


# --- the code --------------------------------------------------------------------------------

class Value(NamedTuple):
    expr: ast.AST | None          # the expression a dict key is given (None: not a plain expression)
    scopes: tuple[ast.AST, ...]   # where the names in it are bound, innermost first


class Emit(NamedTuple):
    service: str
    topic: str
    type: str
    data: dict[str, Value]
    kwargs: dict[str, ast.AST]
    path: Path


def emitting_modules(service: str) -> list[tuple[Any, Path]]:
    """(module, path) of every module of the service that calls ``.emit(``: the use cases may
    be split over several modules (registry's transfers, imports, population checks)."""
    package = ROOT / "services" / service / service
    found = []
    for path in sorted(package.rglob("*.py")):
        if ".emit(" in path.read_text(encoding="utf-8"):
            dotted = ".".join(path.relative_to(package.parent).with_suffix("").parts)
            found.append((importlib.import_module(dotted), path))
    return found


def resolve(module: Any, node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None) or getattr(envelope, node.id, None)
        assert isinstance(value, str), f"{module.__name__}.{node.id} is not a string constant"
        return value
    raise AssertionError(f"cannot resolve {ast.unparse(node)} in {module.__name__}")


def functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def assigned(scopes: tuple[ast.AST, ...], name: str) -> tuple[ast.AST, tuple[ast.AST, ...]] | None:
    """The expression last assigned to ``name`` in the innermost scope that assigns it."""
    for i, scope in enumerate(scopes):
        found = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
        if found:
            return found[-1], scopes[i:]
    return None


def dict_shape(node: ast.AST, scopes: tuple[ast.AST, ...], tree: ast.Module) -> dict[str, Value] | None:
    """The keys of the dict an expression builds, each with its value expression; None if the
    expression is not a dict this can read (the caller then cannot check it)."""
    if isinstance(node, ast.Dict):
        shape: dict[str, Value] = {}
        for k, v in zip(node.keys, node.values):
            if k is not None:
                shape[k.value] = Value(v, scopes)
                continue
            # **spread: a name bound to a call of a helper in this module -> its returned dict.
            bound = assigned(scopes, v.id) if isinstance(v, ast.Name) else None
            call = bound[0] if bound else v
            assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), \
                f"cannot read the spread **{ast.unparse(v)}"
            helper = functions(tree)[call.func.id]
            returned = [r.value for r in ast.walk(helper) if isinstance(r, ast.Return) and r.value is not None]
            assert len(returned) == 1, f"{helper.name} should return one dict literal"
            spread = dict_shape(returned[0], (helper, *scopes), tree)
            assert spread is not None, f"cannot read what {helper.name} returns"
            shape.update(spread)
        return shape
    if isinstance(node, ast.DictComp) and isinstance(node.generators[0].iter, (ast.Tuple, ast.List)):
        return {e.value: Value(None, scopes) for e in node.generators[0].iter.elts if isinstance(e, ast.Constant)}
    if isinstance(node, ast.Name):
        bound = assigned(scopes, node.id)
        if bound is None:
            return None
        shape = dict_shape(bound[0], bound[1], tree)
        if shape is not None:  # name.update(key=...) adds keys (maybe conditionally)
            for call in ast.walk(bound[1][0]):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "update"
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == node.id):
                    shape.update({kw.arg: Value(kw.value, bound[1]) for kw in call.keywords if kw.arg})
        return shape
    return None


@lru_cache
def emits() -> tuple[Emit, ...]:
    """Every ``uow.emit(...)`` in the four services' handlers."""
    found = []
    for service in SERVICES:
        for module, path in emitting_modules(service):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call, scopes in emit_calls(tree):
                kw = {k.arg: k.value for k in call.keywords}
                data = dict_shape(kw["data"], scopes, tree)
                assert data is not None, f"{path.name}: cannot read data={ast.unparse(kw['data'])}"
                found.append(Emit(service, resolve(module, kw["topic"]), resolve(module, kw["type"]), data, kw, path))
    return tuple(found)


def emit_calls(node: ast.AST, scopes: tuple[ast.AST, ...] = ()) -> Iterator[tuple[ast.Call, tuple[ast.AST, ...]]]:
    """Each ``<x>.emit(...)`` call with its enclosing functions, innermost first."""
    for child in ast.iter_child_nodes(node):
        inner = (child, *scopes) if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scopes
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "emit":
            yield child, inner
        yield from emit_calls(child, inner)


def emit_spans(source: str) -> Iterator[str]:
    """The argument text of every ``.emit(...)`` call (parentheses matched, not parsed)."""
    for m in re.finditer(r"\.emit\(", source):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            i += 1
        yield source[m.end():i - 1]


def scanned_types() -> dict[str, set[str]]:
    """Event types passed as ``type=`` to emit calls, found by a regex over the source."""
    out: dict[str, set[str]] = {}
    for service, (module, path) in ((s, m) for s in SERVICES for m in emitting_modules(s)):
        for span in emit_spans(path.read_text(encoding="utf-8")):
            for value in re.findall(r"\btype\s*=\s*([A-Za-z_]\w*|\"[^\"]*\"|'[^']*')", span):
                resolved = value.strip("\"'") if value[0] in "\"'" else getattr(module, value, None)
                assert isinstance(resolved, str), f"{service}.handlers: type={value} does not name a string"
                out.setdefault(resolved, set()).add(service)
    return out


def consumed(service: str) -> tuple[set[str], set[str]]:
    """(types in the bootstrap's HANDLERS, topics passed to create_service_app)."""
    module = importlib.import_module(f"{service}.bootstrap")
    handlers = set(getattr(module, "HANDLERS", {}))
    topics: set[str] = set()
    path = ROOT / "services" / service / service / "bootstrap.py"
    for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(call, ast.Call):
            for kw in call.keywords:
                if kw.arg == "topics" and isinstance(kw.value, (ast.List, ast.Tuple)):
                    topics |= {resolve(module, e) for e in kw.value.elts}
    return handlers, topics


# --- (a) the document ------------------------------------------------------------------------

def test_the_document_parses_as_asyncapi_3():
    assert re.fullmatch(r"3\.\d+\.\d+", str(doc()["asyncapi"]))
    assert doc()["info"]["title"] and doc()["info"]["version"]


def test_every_channel_is_a_contract_topic():
    addresses = [c["address"] for c in doc()["channels"].values()]
    assert set(addresses) <= TOPICS, f"not a topic in shared/envelope.py: {set(addresses) - TOPICS}"
    assert len(addresses) == len(set(addresses)), "a topic is documented twice"
    assert set(addresses) == TOPICS, f"undocumented topics: {TOPICS - set(addresses)}"
    for channel in doc()["channels"].values():
        binding = channel.get("bindings", {}).get("kafka", {})
        assert binding.get("topic", channel["address"]) == channel["address"]


def test_the_servers_are_the_compose_broker_and_the_local_one():
    from shared.settings import ServiceSettings

    servers = doc()["servers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert servers["production"]["host"] == compose["x-service-env"]["BAOXUE_KAFKA_BOOTSTRAP"]
    assert servers["local"]["host"] == ServiceSettings.model_fields["kafka_bootstrap"].default
    assert {s["protocol"] for s in servers.values()} == {"kafka"}


def test_the_headers_trait_is_the_envelope_the_code_writes():
    event = envelope.Event(type="t", source="/baoxue/x", subject="s", data={})
    names = [name for name, _ in event.headers()]
    # A dead letter adds its reason as a CloudEvents extension attribute.
    dead_letter = envelope.Event(type="t", source="/baoxue/x", subject="s", data={},
                                 extensions={"deadletterreason": "why"})
    for message in messages().values():
        if message["name"] == envelope.DEAD_LETTER_RECORDED:
            headers = deref(trait_field(message, "headers"))
            assert headers["required"] == [name for name, _ in dead_letter.headers()]
            assert set(headers["properties"]) == set(headers["required"])
            continue
        headers = deref(trait_field(message, "headers"))
        assert headers is not None, f"{message['name']} has no headers"
        assert headers["required"] == names
        assert set(headers["properties"]) == set(names)
        assert headers["properties"]["ce_specversion"]["const"] == envelope.SPECVERSION
        assert headers["properties"]["content-type"]["const"] == envelope.CONTENT_TYPE
        assert trait_field(message, "contentType") == envelope.CONTENT_TYPE
    # The relay writes the headers itself (from outbox rows): the same names, in the same order.
    relay = ast.parse((ROOT / "shared" / "relay.py").read_text(encoding="utf-8"))
    written = [t.elts[0].value for t in ast.walk(relay) if isinstance(t, ast.Tuple) and len(t.elts) == 2
               and isinstance(t.elts[0], ast.Constant) and t.elts[0].value in set(names)]
    assert written == names


# --- (b) every emitted type is documented ----------------------------------------------------

@pytest.mark.parametrize("module_name", sorted(TYPE_CONSTANTS))
def test_every_event_type_constant_is_documented(module_name):
    module = importlib.import_module(module_name)
    named = {getattr(module, c) for c in TYPE_CONSTANTS[module_name]}
    # A constant added to the module but not to the list above is caught here too.
    declared = {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str) and EVENT_TYPE.match(v)}
    assert declared == named, f"update TYPE_CONSTANTS for {module_name}"
    assert named - set(messages()) == set(), "declared but not in docs/asyncapi.yaml"


def test_every_type_passed_to_emit_is_documented():
    scanned = scanned_types()
    assert scanned, "the regex found no emit calls"
    assert set(scanned) - set(messages()) == set(), "emitted but not in docs/asyncapi.yaml"
    # The two independent readings of the source agree, so neither silently misses a call.
    assert set(scanned) == {e.type for e in emits()}
    spans = [span for s in SERVICES for _, path in emitting_modules(s)
             for span in emit_spans(path.read_text(encoding="utf-8"))]
    assert len(spans) == len(emits())


def test_the_scan_found_the_known_emits():
    assert {e.type for e in emits()} >= {
        "baoxue.registry.org.registered", "baoxue.registry.student.enrolled",
        "baoxue.attendance.absence.threshold_reached", "baoxue.attendance.student.returned",
        "baoxue.cases.case.opened", "baoxue.cases.dual_report.issued", "baoxue.cases.dual_report.acknowledged"}


def test_planned_messages_are_marked_and_the_rest_are_emitted():
    emitted = {e.type for e in emits()} | {e.type for e in shared_emits()}
    for name, message in messages().items():
        planned = message.get("x-status") == "planned"
        assert (name in emitted) != planned, f"{name}: emitted={name in emitted}, x-status planned={planned}"


@lru_cache
def shared_emits() -> tuple[Emit, ...]:
    """Every ``uow.emit(...)`` in the shared modules that emit."""
    found = []
    for module_name, path in SHARED_EMITTERS.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = importlib.import_module(module_name)
        for call, scopes in emit_calls(tree):
            kw = {k.arg: k.value for k in call.keywords}
            data = dict_shape(kw["data"], scopes, tree)
            assert data is not None, f"{module_name}: cannot read data={ast.unparse(kw['data'])}"
            found.append(Emit("messaging", resolve(module, kw["topic"]), resolve(module, kw["type"]), data, kw, path))
    return tuple(found)


def test_the_dead_letter_emit_is_documented_with_exactly_its_fields():
    (emit,) = shared_emits()
    assert (emit.topic, emit.type) == (envelope.TOPIC_DEADLETTER, envelope.DEAD_LETTER_RECORDED)
    sent = {(deref(op["channel"])["address"], t) for op in operations("send", "messaging")
            for t in types_of(op["messages"])}
    assert sent == {(emit.topic, emit.type)}
    payload = payload_of(emit.type)
    assert set(emit.data) == set(payload["required"]) == set(payload["properties"])
    assert ("event_id" in emit.kwargs) == (messages()[emit.type]["x-ce-id"] == "deterministic")


def test_the_envelope_knows_every_documented_type_on_each_topic():
    # Consumers set aside a type that is not in envelope.TOPIC_TYPES: it must match the contract.
    documented = {c["address"]: types_of(list(c["messages"].values())) for c in doc()["channels"].values()}
    assert {t: set(types) for t, types in envelope.TOPIC_TYPES.items()} == documented


# --- (c) consumers and producers -------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_every_consumed_type_is_documented_as_a_receive_operation(service):
    handlers, topics = consumed(service)
    assert handlers - set(messages()) == set(), f"{service} consumes undocumented types"
    ops = operations("receive", service)
    documented = set().union(*(types_of(op.get("messages") or deref(op["channel"])["messages"].values())
                               for op in ops)) if ops else set()
    assert documented == handlers, f"{service}: receive operations vs HANDLERS"
    assert {deref(op["channel"])["address"] for op in ops} == topics, f"{service}: subscribed topics"
    module_name, class_name = SETTINGS[service].split(":")
    settings_cls = getattr(importlib.import_module(module_name), class_name)
    group = f"baoxue-{settings_cls.model_fields['service_name'].default}"  # ServiceSettings.consumer_group
    for op in ops:
        assert op["bindings"]["kafka"]["groupId"]["default"] == group


@pytest.mark.parametrize("service", SERVICES)
def test_every_emit_is_a_send_operation_of_its_service_on_its_topic(service):
    sent = {(deref(op["channel"])["address"], t)
            for op in operations("send", service)
            for t in types_of(op.get("messages") or deref(op["channel"])["messages"].values())}
    assert {(e.topic, e.type) for e in emits() if e.service == service} <= sent
    for topic, event_type in sent:
        assert event_type.startswith(f"baoxue.{service}."), f"{service} sends {event_type}"


def test_operation_messages_belong_to_their_channel():
    for name, op in doc()["operations"].items():
        for ref in op.get("messages", []):
            assert ref["$ref"].startswith(op["channel"]["$ref"] + "/messages/"), name


# --- (d) payloads are what the code puts in data ----------------------------------------------

def payload_of(event_type: str) -> dict[str, Any]:
    return deref(messages()[event_type]["payload"])


@pytest.mark.parametrize("emit", emits(), ids=lambda e: e.type)
def test_every_emit_is_documented_on_its_topic_with_exactly_its_fields(emit):
    assert emit.type in messages(), f"{emit.type} is emitted by {emit.service} but not documented"
    channel = next(c for c in doc()["channels"].values() if c["address"] == emit.topic)
    assert emit.type in types_of(list(channel["messages"].values())), f"{emit.type} not on {emit.topic}"
    payload = payload_of(emit.type)
    keys = set(emit.data)
    assert keys - set(payload["properties"]) == set(), "emitted but not a documented property"
    assert keys - set(payload["required"]) == set(), "always emitted but not documented as required"
    assert set(payload["required"]) - keys == set(), "documented as required but not emitted"


@pytest.mark.parametrize("emit", emits(), ids=lambda e: e.type)
def test_nested_objects_have_their_fields_documented(emit):
    payload = payload_of(emit.type)
    tree = ast.parse(emit.path.read_text(encoding="utf-8"))
    checked = 0
    for key, value in emit.data.items():
        if key not in payload["properties"]:
            continue  # reported by the test above
        schema = deref(payload["properties"][key])
        if value.expr is None or "properties" not in schema:
            continue
        shape = dict_shape(value.expr, value.scopes, tree)
        if shape is None:  # not a dict literal (e.g. a list of orgs): nothing to compare
            continue
        assert set(shape) - set(schema["properties"]) == set(), f"{key}: emitted but not documented"
        assert set(schema.get("required", [])) - set(shape) == set(), f"{key}: required but never emitted"
        checked += 1
    if emit.type == "baoxue.cases.dual_report.issued":  # the reader follows **facts into _report_facts
        assert checked >= 2, "student and absence were not read"


@pytest.mark.parametrize("emit", emits(), ids=lambda e: e.type)
def test_the_documented_key_and_id_are_what_the_emit_passes(emit):
    message = messages()[emit.type]
    key = trait_field(message, "bindings", "kafka", "key")
    assert key is not None, f"{emit.type} documents no Kafka key"
    # uow.emit keys by the subject unless given key=; the doc names the data field it equals.
    key_expr = emit.kwargs.get("key", emit.kwargs["subject"])
    field = key["x-payload-field"]
    value = emit.data.get(field, Value(None, ())).expr
    assert value is not None, f"{field} is not in the emitted data"
    assert ast.dump(value) == ast.dump(key_expr), \
        f"the key is {ast.unparse(key_expr)}, not data[{field!r}] = {ast.unparse(value)}"
    deterministic = "event_id" in emit.kwargs
    assert message["x-ce-id"] == ("deterministic" if deterministic else "random")


# --- examples --------------------------------------------------------------------------------

def conforms(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """A small JSON Schema check (types, const, enum, required, no undocumented keys)."""
    schema = deref(schema)
    if "oneOf" in schema:
        return [] if any(not conforms(value, s, where) for s in schema["oneOf"]) else [f"{where}: matches no oneOf"]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    python = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
              "object": dict, "null": type(None)}
    if kinds and not any(isinstance(value, python[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                         for k in kinds):
        return [f"{where}: {value!r} is not {kinds}"]
    errors = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict) and "properties" in schema:
        errors += [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
        errors += [f"{where}.{k}: not documented" for k in value if k not in schema["properties"]]
        for k, v in value.items():
            if k in schema["properties"]:
                errors += conforms(v, schema["properties"][k], f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errors += conforms(v, schema["items"], f"{where}[{i}]")
    return errors


def test_the_main_events_have_examples_that_match_their_schemas():
    documented = messages()
    for event_type in ("baoxue.attendance.absence.threshold_reached", "baoxue.cases.case.opened",
                       "baoxue.cases.dual_report.issued"):
        assert documented[event_type].get("examples"), f"{event_type} has no example"
    for event_type, message in documented.items():
        for example in message.get("examples", []):
            assert conforms(example["payload"], message["payload"], event_type) == []
            if "headers" in example:
                headers = deref(trait_field(message, "headers"))
                assert conforms(example["headers"], headers, event_type + " headers") == []
                assert example["headers"]["ce_type"] == event_type
