"""The node types of the journeys app: config rules and output handles (API.md node table)."""

from __future__ import annotations

import pytest

from journeys.nodes.base import REGISTRY


def check(type_name, config):
    return {e.field for e in REGISTRY[type_name].validate(config)}


def handles(type_name, config):
    return REGISTRY[type_name].handles(config)


def test_start_and_exit():
    assert check("start", {}) == set() and handles("start", {}) == ["next"]
    assert check("exit", {}) == set() and handles("exit", {}) == []
    assert check("start", {"x": 1}) == {"x"}


@pytest.mark.parametrize(
    "config,bad",
    [
        ({"mode": "duration", "duration": {"value": 2, "unit": "hours"}}, set()),
        ({"mode": "duration", "duration": {"value": 0, "unit": "hours"}}, {"duration.value"}),
        ({"mode": "duration", "duration": {"value": 99999, "unit": "weeks"}}, {"duration.value"}),
        ({"mode": "until", "time": "09:00"}, set()),
        ({"mode": "until", "time": "09:00", "days": ["mon", "fri"]}, set()),
        ({"mode": "until", "time": "9:00", "days": ["monday"]}, {"time", "days.0"}),
        (
            {"mode": "event", "event": "order_completed", "timeout": {"value": 1, "unit": "hours"}},
            set(),
        ),
        (
            {
                "mode": "event",
                "event": "paid",
                "where": [{"property": "amount", "op": "gte", "value": 10}],
                "timeout": {"value": 1, "unit": "days"},
            },
            set(),
        ),
        ({"mode": "event", "event": ""}, {"event", "timeout"}),
        ({"mode": "later"}, {"mode"}),
        ({}, {"mode"}),
    ],
)
def test_wait_config(config, bad):
    assert check("wait", config) == bad


def test_wait_handles_depend_on_mode():
    assert handles("wait", {"mode": "duration"}) == ["next"]
    assert handles("wait", {"mode": "event"}) == ["event", "timeout"]


def test_branch_config_and_handles():
    config = {
        "groups": [
            {
                "id": "vip",
                "name": "VIP",
                "condition": {"attribute": "plan", "op": "eq", "value": "vip"},
            },
            {
                "id": "eu",
                "name": "EU",
                "condition": {"attribute": "region", "op": "in", "value": ["fr", "de"]},
            },
        ]
    }
    assert check("branch", config) == set()
    assert handles("branch", config) == ["vip", "eu", "else"]
    assert check("branch", {"groups": []}) == {"groups"}
    bad = {"groups": [{"id": "else", "condition": {"attribute": "a", "op": "exists"}}, {"id": "x"}]}
    assert check("branch", bad) == {"groups.0.id", "groups.1.condition"}


def test_event_branch_config():
    assert check("event_branch", {"event": "purchase", "within": "since_entry"}) == set()
    assert (
        check("event_branch", {"event": "purchase", "within": {"value": 3, "unit": "days"}})
        == set()
    )
    assert check("event_branch", {"event": "purchase"}) == {"within"}
    assert check("event_branch", {"within": "forever"}) == {"event", "within"}
    assert handles("event_branch", {}) == ["yes", "no"]


def test_split_config_and_handles():
    config = {
        "paths": [
            {"id": "a", "name": "A", "percent": 33.5},
            {"id": "b", "name": "B", "percent": 66.5},
        ]
    }
    assert check("split", config) == set()
    assert handles("split", config) == ["a", "b"]
    assert check("split", {"paths": [{"id": "a", "percent": 100}]}) == {"paths"}
    assert check("split", {"paths": [{"id": "a", "percent": 50}, {"id": "a", "percent": 0}]}) == {
        "paths.1.id",
        "paths.1.percent",
    }


def test_update_profile_config():
    assert (
        check(
            "update_profile", {"set": {"plan": "pro", "greeting": "Hi {{ customer.first_name }}"}}
        )
        == set()
    )
    assert (
        check("update_profile", {"unset": ["trial"], "add_tags": ["vip"], "remove_tags": ["lead"]})
        == set()
    )
    assert check("update_profile", {"set": {"x": "{{ oops"}}) == {"set.x"}
    assert check("update_profile", {}) == {"set"}
    assert check("update_profile", {"set": {"a": 1}, "unset": ["a"]}) == {"unset"}
    assert check("update_profile", {"add_tags": ["t"], "remove_tags": ["t"]}) == {"remove_tags"}
    assert check("update_profile", {"add_tags": "vip"}) == {"add_tags"}


@pytest.mark.parametrize(
    "type_name", ["start", "wait", "branch", "event_branch", "split", "update_profile", "exit"]
)
@pytest.mark.parametrize(
    "garbage",
    [{"mode": []}, {"groups": {"a": 1}}, {"paths": [1, None, "x"]}, {"set": [1]}, {"within": 5}],
)
def test_validate_and_handles_never_raise(type_name, garbage):
    assert isinstance(REGISTRY[type_name].validate(garbage), list)
    assert isinstance(REGISTRY[type_name].handles(garbage), list)
