"""What a node type says about itself for GET /node-types: its output handles as data (`outputs`),
read here for the engine and by the canvas, and the JSON Schema pieces node configs share."""

from __future__ import annotations

from typing import Any

from ..fields import DURATION_UNITS, nonempty_str

# ---- Output handles as data ------------------------------------------------------------------
# `outputs` is a list of cases; the first whose `when` matches the config gives the handles.
#   when:    absent (always) | {"field": F, "equals": V} | {"field": F, "present": bool}
#   handles: [{"id": H, "label": L, "unconnected"?: H2} | {"each": LIST, "skip"?: [H]}]
# `unconnected` names the handle a customer takes instead when H has no edge (a failed send goes
# on along `next`: a missed message must not silently end the journey); otherwise an unconnected
# handle ends the journey there.
# {"each": "groups"} is one handle per `config.groups[].id` (non-empty, first of duplicates),
# labelled by the item's `name`. A label may hold `{field.path}`, filled from the config.
NEXT = {"id": "next", "label": "Next"}
FAILED = {"id": "failed", "label": "Failed"}
# The failed handle of a send (message, webhook): left unconnected, the customer goes on along next.
FAILED_GOES_ON = {**FAILED, "unconnected": "next"}


def fixed(*handles: dict) -> list[dict]:
    """`outputs` of a type whose handles never depend on its config."""
    return [{"handles": list(handles)}]


def _matches(when: dict | None, config: dict) -> bool:
    if when is None:
        return True
    value = config.get(when["field"])
    if "equals" in when:
        return value == when["equals"]
    return (value is not None) == when["present"]


def handles_from_outputs(outputs: list[dict], config: Any) -> list[str]:
    """The handle ids `outputs` gives for `config`; never raises for any JSON config."""
    config = config if isinstance(config, dict) else {}
    for case in outputs:
        if not _matches(case.get("when"), config):
            continue
        found: list[str] = []
        for handle in case["handles"]:
            if "each" in handle:
                items = config.get(handle["each"])
                skip = set(handle.get("skip", ()))
                found += [
                    item["id"]
                    for item in (items if isinstance(items, list) else [])
                    if isinstance(item, dict)
                    and nonempty_str(item.get("id"))
                    and item["id"] not in skip
                ]
            else:
                found.append(handle["id"])
        return list(dict.fromkeys(found))
    return []


def fallthrough_from_outputs(outputs: list[dict], config: Any) -> dict[str, str]:
    """Handle → the handle taken instead when it is unconnected, for the handles `config` has."""
    config = config if isinstance(config, dict) else {}
    for case in outputs:
        if _matches(case.get("when"), config):
            return {h["id"]: h["unconnected"] for h in case["handles"] if "unconnected" in h}
    return {}


# ---- Shared JSON Schema pieces ---------------------------------------------------------------
DURATION = {
    "type": "object",
    "required": ["value", "unit"],
    "properties": {
        "value": {"type": "number", "exclusiveMinimum": 0, "title": "Amount"},
        "unit": {"enum": list(DURATION_UNITS), "title": "Unit"},
    },
    "additionalProperties": False,
}
CONDITION = {
    "type": "object",
    "description": 'A condition: {"all": [...]} | {"any": [...]} | a rule.',
}
WHERE = {"type": "array", "items": {"type": "object"}, "description": "Event property filters."}
NO_CONFIG = {"type": "object", "properties": {}, "additionalProperties": False}


def named_items(key: str, title: str, min_items: int, properties: dict, required: tuple) -> dict:
    """The schema of a config that is one list of {"id", "name", …} items, one handle each
    (branch groups, split paths)."""
    item = object_schema(
        {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"}, **properties},
        ("id", *required),
    )
    return object_schema(
        {key: {"type": "array", "title": title, "minItems": min_items, "items": item}}, (key,)
    )


def object_schema(properties: dict, required: tuple[str, ...] = (), **extra: Any) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }
