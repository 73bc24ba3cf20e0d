"""docs/asyncapi.yaml agrees with the event models (shared/events/) field by field.

The models are the contract in code: producers emit them and consumers validate into them, so
checking the document against each ``model_json_schema()`` (names, required-ness, JSON types,
formats) keeps the two in step without reading any handler's source. Consumers come from each
service's HANDLERS (the subscription is derived from the same registrations).
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
import yaml

from shared import envelope
from shared.events import BY_TYPE, MODELS, TOPIC_TYPES, TOPICS, EventModel
from shared.routes import Routes
from tests.conftest import ROOT, SETTINGS

DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
SERVICES = ["registry", "attendance", "cases", "reporting"]


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
    out: dict[str, dict[str, Any]] = {}
    for message in doc()["components"]["messages"].values():
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


def payload_of(event_type: str) -> dict[str, Any]:
    return deref(messages()[event_type]["payload"])


# --- JSON Schema shapes, compared ------------------------------------------------------------

def shape(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> tuple[frozenset[str], str | None, Any]:
    """(JSON types, format, the items' shape) of a property, in the document or in a model's
    schema: ``oneOf``/``anyOf`` alternatives merge, ``const`` is a string."""
    schema = deref(schema)
    if defs is not None and "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            parts = [shape(s, defs) for s in schema[key]]
            types = frozenset().union(*(p[0] for p in parts))
            formats = {p[1] for p in parts if p[1]}
            items = next((p[2] for p in parts if p[2] is not None), None)
            return types, (formats.pop() if formats else None), items
    kinds = schema.get("type")
    if kinds is None and "const" in schema:
        kinds = "string"
    kinds = frozenset([kinds] if isinstance(kinds, str) else kinds or [])
    items = shape(schema["items"], defs) if "items" in schema and schema["items"] else None
    if "array" in kinds and items is None:
        items = (frozenset(), None, None)
    return kinds, schema.get("format"), items


def test_the_document_parses_as_asyncapi_3():
    assert re.fullmatch(r"3\.\d+\.\d+", str(doc()["asyncapi"]))
    assert doc()["info"]["title"] and doc()["info"]["version"]


def test_every_channel_is_a_contract_topic():
    addresses = [c["address"] for c in doc()["channels"].values()]
    assert len(addresses) == len(set(addresses)), "a topic is documented twice"
    assert set(addresses) == set(TOPICS)
    for channel in doc()["channels"].values():
        assert channel.get("bindings", {}).get("kafka", {}).get("topic", channel["address"]) == channel["address"]


def test_the_servers_are_the_compose_broker_and_the_local_one():
    from shared.settings import ServiceSettings

    servers = doc()["servers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert servers["production"]["host"] == compose["x-service-env"]["BAOXUE_KAFKA_BOOTSTRAP"]
    assert servers["local"]["host"] == ServiceSettings.model_fields["kafka_bootstrap"].default
    assert {s["protocol"] for s in servers.values()} == {"kafka"}


def test_the_headers_trait_is_the_envelope_the_code_writes():
    # envelope.ce_headers is the one place headers are built (the relay and Event.headers use it).
    now = datetime(2026, 11, 23, tzinfo=UTC)
    names = [n for n, _ in envelope.ce_headers(id="i", source="/baoxue/x", type="t", time=now, subject="s")]
    dead = [n for n, _ in envelope.ce_headers(id="i", source="/baoxue/x", type="t", time=now, subject="s",
                                              extensions={"deadletterreason": "why"})]
    for message in messages().values():
        headers = deref(trait_field(message, "headers"))
        assert headers is not None, f"{message['name']} has no headers"
        expected = dead if message["name"] == envelope.DEAD_LETTER_RECORDED else names
        assert headers["required"] == expected
        assert set(headers["properties"]) == set(expected)
        assert headers["properties"]["ce_specversion"]["const"] == envelope.SPECVERSION
        assert headers["properties"]["content-type"]["const"] == envelope.CONTENT_TYPE
        assert trait_field(message, "contentType") == envelope.CONTENT_TYPE


# --- the models are the documented messages --------------------------------------------------

def test_every_model_is_documented_on_its_topic_and_every_message_has_a_model():
    documented = {c["address"]: types_of(list(c["messages"].values())) for c in doc()["channels"].values()}
    assert {topic: set(types) for topic, types in TOPIC_TYPES.items()} == documented
    assert set(messages()) == set(BY_TYPE)
    for model in MODELS:
        assert re.fullmatch(r"baoxue(\.[a-z_]+){3}", model.TYPE), model.TYPE
        assert model.model_config.get("extra") == "ignore", f"{model.__name__} must ignore unknown fields"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.TYPE)
def test_the_payload_is_the_model_field_by_field(model: type[EventModel]):
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    payload = payload_of(model.TYPE)
    props, documented = schema["properties"], payload["properties"]
    assert set(props) == set(documented), "fields: model vs document"
    required = set(schema.get("required", []))
    # A field the document promises may still have a default in the model (events from before it
    # was added); a field the model needs must be promised.
    assert required <= set(payload.get("required", [])), "the model requires fields the document does not"
    for name, field in documented.items():
        doc_types, doc_format, doc_items = shape(field)
        types, fmt, items = shape(props[name], defs)
        extra = types - doc_types
        assert doc_types <= types and extra <= {"null"}, f"{name}: {sorted(types)} vs documented {sorted(doc_types)}"
        assert not extra or name not in required, f"{name}: nullable in the model only, so it needs a default"
        assert fmt == doc_format, f"{name}: format {fmt} vs documented {doc_format}"
        if doc_items is not None and items is not None and doc_items[0]:
            assert items[0] >= doc_items[0] and items[1] == doc_items[1], f"{name}[]: {items} vs {doc_items}"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.TYPE)
def test_the_documented_key_is_a_field_of_the_model(model: type[EventModel]):
    message = messages()[model.TYPE]
    key = trait_field(message, "bindings", "kafka", "key")
    assert key is not None, f"{model.TYPE} documents no Kafka key"
    if "x-payload-field" in key:
        assert key["x-payload-field"] in model.model_fields
    assert message["x-ce-id"] in ("random", "deterministic")


def test_the_examples_validate_as_their_models():
    documented = messages()
    for event_type in ("baoxue.attendance.absence.threshold_reached", "baoxue.cases.case.opened",
                       "baoxue.cases.dual_report.issued"):
        assert documented[event_type].get("examples"), f"{event_type} has no example"
    for event_type, message in documented.items():
        for example in message.get("examples", []):
            model = BY_TYPE[event_type].model_validate(example["payload"])
            assert set(model.payload()) == set(example["payload"]), f"{event_type}: example has unknown fields"
            if "headers" in example:
                assert example["headers"]["ce_type"] == event_type


# --- consumers and producers -----------------------------------------------------------------

def handlers_of(service: str) -> Routes:
    return Routes(importlib.import_module(f"{service}.bootstrap").HANDLERS)


@pytest.mark.parametrize("service", SERVICES)
def test_every_consumed_type_is_documented_as_a_receive_operation(service):
    routes = handlers_of(service)
    ops = operations("receive", service)
    documented = set().union(*(types_of(op.get("messages") or deref(op["channel"])["messages"].values())
                               for op in ops)) if ops else set()
    assert documented == routes.types, f"{service}: receive operations vs HANDLERS"
    assert {deref(op["channel"])["address"] for op in ops} == set(routes.topics), f"{service}: subscribed topics"
    module_name, class_name = SETTINGS[service].split(":")
    settings_cls = getattr(importlib.import_module(module_name), class_name)
    group = f"baoxue-{settings_cls.model_fields['service_name'].default}"  # ServiceSettings.consumer_group
    for op in ops:
        assert op["bindings"]["kafka"]["groupId"]["default"] == group


def test_every_model_is_sent_by_the_service_its_type_names():
    sent: set[str] = set()
    for service in [*SERVICES, "messaging"]:
        for op in operations("send", service):
            types = types_of(op.get("messages") or deref(op["channel"])["messages"].values())
            assert all(t.startswith(f"baoxue.{service}.") for t in types), f"{service} sends {types}"
            assert types <= TOPIC_TYPES[deref(op["channel"])["address"]]
            sent |= types
    assert sent == set(BY_TYPE)


def test_operation_messages_belong_to_their_channel():
    for name, op in doc()["operations"].items():
        for ref in op.get("messages", []):
            assert ref["$ref"].startswith(op["channel"]["$ref"] + "/messages/"), name


def test_the_readme_event_catalogue_lists_every_type():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    catalogue = readme[readme.index("## Event catalogue"):]
    catalogue = catalogue[:catalogue.find("\n## ", 5)]
    listed = set(re.findall(r"`(baoxue(?:\.[a-z_]+){3})`", catalogue))
    assert listed == set(BY_TYPE)
