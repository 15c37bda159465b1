"""GET /node-types: each node type described once, as the canvas builds on it (schema, handles and
how they follow the config, default config, palette entries), and the engine's handles are the
same description read in Python."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings

from journeys.nodes.base import REGISTRY
from journeys.nodes.describe import handles_from_outputs

BLANKS = {"required", "minLength"}  # what a fresh node leaves to fill in, not a wrong shape


@pytest.fixture
def catalog(viewer_api):
    answer = viewer_api.get("/api/v1/node-types")
    assert answer.status_code == 200
    return {row["type"]: row for row in answer.json()["results"]}


def test_every_type_describes_schema_handles_defaults_and_palette(catalog):
    assert set(catalog) == set(REGISTRY)
    for row in catalog.values():
        jsonschema.Draft202012Validator.check_schema(row["config_schema"])
        assert row["icon"] and row["label"] and row["presets"], row["type"]
        # What the palette drops is a config of the right shape (blanks for the marketer to fill
        # are fine), with the handles the engine gives it.
        validator = jsonschema.Draft202012Validator(row["config_schema"])
        for config in [row["default_config"], *(p["config"] for p in row["presets"])]:
            wrong = [e for e in validator.iter_errors(config) if e.validator not in BLANKS]
            assert not wrong, (row["type"], config, wrong)
            assert handles_from_outputs(row["outputs"], config) == REGISTRY[row["type"]].handles(
                config
            )
    assert [p["key"] for p in catalog["wait"]["presets"]] == ["wait", "wait_event"]
    assert catalog["start"]["has_input"] is False and catalog["exit"]["handles"] == []
    assert {p["key"] for p in catalog["message"]["presets"]} >= {"email", "sms", "push"}


@pytest.mark.parametrize(
    "type_name,config,expected",
    [
        (
            "branch",
            {"groups": [{"id": "vip"}, {"id": "vip"}, {"id": "else"}, {"id": ""}]},
            ["vip", "else"],
        ),
        ("branch", {"groups": "nonsense"}, ["else"]),
        ("split", {"paths": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}, ["a", "b", "c"]),
        ("wait", {"mode": "event"}, ["event", "timeout"]),
        ("wait", {"mode": "until"}, ["next"]),
        ("message", {"await": {"status": "opened"}}, ["yes", "no", "failed"]),
        ("message", {"channel": "sms"}, ["next", "failed"]),
        ("journey", {"journey_id": 3}, ["next", "failed"]),
        ("exit", {}, []),
    ],
)
def test_the_outputs_description_gives_the_engines_handles(catalog, type_name, config, expected):
    assert handles_from_outputs(catalog[type_name]["outputs"], config) == expected
    assert REGISTRY[type_name].handles(config) == expected


def test_handle_labels_come_with_the_description(catalog):
    message = catalog["message"]["outputs"]
    assert message[0]["when"] == {"field": "await", "present": True}
    assert [h.get("label") for h in message[0]["handles"]] == [
        "{await.status}",
        "Not {await.status}",
        "Failed",
    ]
    assert catalog["branch"]["outputs"] == [
        {
            "handles": [
                {"each": "groups", "skip": ["else"]},
                {"id": "else", "label": "Everyone else"},
            ]
        }
    ]


def test_the_canvas_unit_tests_read_the_servers_own_catalog(catalog):
    """frontend/src/lib/node-types.fixture.json is GET /node-types as the canvas's Vitest tests
    see it; `npm run gen:node-types` rewrites it when a node type changes."""
    fixture = Path(settings.BASE_DIR) / "frontend" / "src" / "lib" / "node-types.fixture.json"
    assert {row["type"]: row for row in json.loads(fixture.read_text())} == catalog


def test_palette_hints_read_as_english(viewer_api):
    message = next(t for t in viewer_api.get("/api/v1/node-types").json()["results"] if t["type"] == "message")
    hints = {p["key"]: p["hint"] for p in message["presets"]}
    assert (hints["email"], hints["sms"], hints["whatsapp"], hints["in_app"]) == (
        "Send an Email message", "Send an SMS message", "Send a WhatsApp message", "Send an In-app message",
    )
