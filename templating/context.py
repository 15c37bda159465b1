"""The template variables (API.md): `customer` (fields, with attributes merged at the top level),
`event` (the trigger event's properties) and `journey` (id and name) — built here only."""

from __future__ import annotations

from typing import Any


def customer_liquid(customer: Any) -> dict:
    """`customer` in Liquid: a Customer's attributes merged with its fields; a plain dict (a
    preview's attributes) as given; nothing for None."""
    if customer is None:
        return {}
    if isinstance(customer, dict):
        return dict(customer)
    data = dict(customer.attributes or {})
    data.update(
        {
            "id": customer.external_id,
            "external_id": customer.external_id,
            "email": customer.email,
            "phone": customer.phone,
            "timezone": customer.timezone,
            "locale": customer.locale,
            "tags": list(customer.tags or []),
            "attributes": dict(customer.attributes or {}),
        }
    )
    return data


def liquid_context(
    *,
    customer: Any,
    event: dict | None = None,
    journey: dict | None = None,
    enrollment: dict | None = None,
) -> dict:
    """Everything a template can read. `customer` is a Customer, a plain attributes dict
    (previews) or None; `enrollment` is the pass ({"key"} in a keyed journey)."""
    return {
        "customer": customer_liquid(customer),
        "event": event or {},
        "journey": journey or {},
        "enrollment": enrollment or {},
    }
