"""Journey settings validation: each rule, with field paths like settings.entry.events.0.name."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiences.models import CustomerList, Segment
from journeys.settings_schema import DEFAULT_SETTINGS, settings_validate


def errors(settings, workspace=None):
    return {e.field: e.message for e in settings_validate(settings=settings, workspace=workspace)}


def with_(**changes):
    return {**DEFAULT_SETTINGS, **changes}


def test_the_defaults_are_valid():
    assert errors(DEFAULT_SETTINGS) == {}


def test_settings_must_be_an_object():
    assert errors([]) == {"settings": "The settings must be an object."}


def test_unknown_setting():
    assert "settings.entry_rule" in errors(with_(entry_rule={}))


def test_entry_is_required():
    assert errors({})["settings.entry"] == "An entry rule is required."


def test_entry_type_must_be_known():
    assert "settings.entry.type" in errors(with_(entry={"type": "telepathy"}))


def test_entry_events_need_names_and_valid_filters():
    found = errors(
        with_(
            entry={
                "type": "event",
                "events": [
                    {"name": "ok"},
                    {"where": []},
                    {"name": "x", "where": [{"property": "amount", "op": "nope", "value": 1}]},
                ],
            }
        )
    )
    assert set(found) == {"settings.entry.events.1.name", "settings.entry.events.2.where.0.op"}


def test_at_most_ten_entry_events():
    eleven = [{"name": f"e{i}"} for i in range(11)]
    assert errors(with_(entry={"type": "event", "events": eleven})) == {
        "settings.entry.events": "At most 10 entry events."
    }
    assert errors(with_(entry={"type": "event", "events": eleven[:10]})) == {}


def test_event_entry_needs_an_event():
    assert "settings.entry.events" in errors(with_(entry={"type": "event", "events": []}))


@pytest.mark.django_db
def test_segment_and_list_ids_must_belong_to_the_workspace(workspace, other_workspace):
    mine = Segment.objects.unscoped().create(
        workspace=workspace, name="vip", condition={"attribute": "plan", "op": "eq", "value": "vip"}
    )
    theirs = Segment.objects.unscoped().create(
        workspace=other_workspace,
        name="x",
        condition={"attribute": "plan", "op": "eq", "value": "x"},
    )
    my_list = CustomerList.objects.unscoped().create(workspace=workspace, name="l")
    their_list = CustomerList.objects.unscoped().create(workspace=other_workspace, name="l")
    assert errors(with_(entry={"type": "segment", "segment_id": mine.pk}), workspace) == {}
    assert "settings.entry.segment_id" in errors(
        with_(entry={"type": "segment", "segment_id": theirs.pk}), workspace
    )
    assert errors(with_(entry={"type": "list", "list_id": my_list.pk}), workspace) == {}
    assert "settings.entry.list_id" in errors(
        with_(entry={"type": "list", "list_id": their_list.pk}), workspace
    )
    # inside conditions too (audience, exit conditions, goals)
    assert errors(with_(audience={"segment": mine.pk}), workspace) == {}
    assert "settings.audience.segment" in errors(with_(audience={"segment": theirs.pk}), workspace)
    assert "settings.exit_conditions.0.list" in errors(
        with_(exit_conditions=[{"list": their_list.pk}]), workspace
    )


def test_segment_entry_takes_an_id_or_a_condition():
    assert "settings.entry" in errors(with_(entry={"type": "segment"}))
    assert "settings.entry" in errors(
        with_(entry={"type": "segment", "segment_id": 1, "condition": {}})
    )
    assert (
        errors(
            with_(
                entry={
                    "type": "segment",
                    "condition": {"attribute": "plan", "op": "eq", "value": "pro"},
                    "recurring": True,
                }
            )
        )
        == {}
    )
    assert "settings.entry.recurring" in errors(
        with_(
            entry={
                "type": "segment",
                "condition": {"attribute": "plan", "op": "eq", "value": "pro"},
                "recurring": "yes",
            }
        )
    )


def test_entry_conditions_cannot_use_since_entry():
    found = errors(
        with_(entry={"type": "segment", "condition": {"event": "x", "within": "since_entry"}})
    )
    assert any(f.startswith("settings.entry.condition") for f in found)


def test_all_and_api_entries_take_nothing_else():
    assert errors(with_(entry={"type": "all"})) == {}
    assert errors(with_(entry={"type": "api"})) == {}
    assert "settings.entry.list_id" in errors(with_(entry={"type": "all", "list_id": 3}))


def test_date_attribute_entry():
    good = {"type": "date_attribute", "attribute": "birthday", "offset_days": -3, "time": "09:00"}
    assert errors(with_(entry=good)) == {}
    assert set(
        errors(with_(entry={**good, "attribute": "", "offset_days": 400, "time": "9am"}))
    ) == {
        "settings.entry.attribute",
        "settings.entry.offset_days",
        "settings.entry.time",
    }


def test_audience_is_a_condition_or_null():
    assert errors(with_(audience=None)) == {}
    assert errors(with_(audience={"attribute": "country", "op": "eq", "value": "FR"})) == {}
    assert any(
        f.startswith("settings.audience")
        for f in errors(with_(audience={"attribute": "country", "op": "??"}))
    )


def test_window_dates_are_iso_and_end_after_start():
    assert (
        errors(
            with_(
                window={"start_at": "2026-01-01T00:00:00Z", "end_at": "2026-02-01T00:00:00+01:00"}
            )
        )
        == {}
    )
    assert set(errors(with_(window={"start_at": "tomorrow", "end_at": "2026-01-01T00:00:00"}))) == {
        "settings.window.start_at",
        "settings.window.end_at",
    }
    assert errors(
        with_(window={"start_at": "2026-02-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"})
    ) == {"settings.window.end_at": "Must be after start_at."}


def test_re_entry_policies():
    assert errors(with_(re_entry={"policy": "always"})) == {}
    assert (
        errors(with_(re_entry={"policy": "after", "cooldown": {"value": 7, "unit": "days"}})) == {}
    )
    assert "settings.re_entry.cooldown" in errors(with_(re_entry={"policy": "after"}))
    assert "settings.re_entry.cooldown.unit" in errors(
        with_(re_entry={"policy": "after", "cooldown": {"value": 7, "unit": "fortnights"}})
    )
    assert "settings.re_entry.policy" in errors(with_(re_entry={"policy": "sometimes"}))


def test_exit_conditions_may_use_since_entry():
    assert (
        errors(with_(exit_conditions=[{"event": "order_completed", "within": "since_entry"}])) == {}
    )
    assert "settings.exit_conditions" in errors(with_(exit_conditions={"event": "x"}))
    assert any(
        f.startswith("settings.exit_conditions.1")
        for f in errors(with_(exit_conditions=[{"event": "a"}, {"bogus": 1}]))
    )


def test_goals_need_unique_ids_names_and_conditions():
    good = {
        "id": "buy",
        "name": "Purchase",
        "condition": {"event": "order_completed"},
        "exit": True,
    }
    assert errors(with_(goals=[good])) == {}
    found = errors(
        with_(goals=[good, {**good, "name": "", "exit": "no"}, {"id": "x", "name": "X"}])
    )
    assert set(found) == {
        "settings.goals.1.id",
        "settings.goals.1.name",
        "settings.goals.1.exit",
        "settings.goals.2.condition",
    }
    assert "Duplicate id" in found["settings.goals.1.id"]


def test_frequency_cap():
    assert errors(with_(frequency_cap={"max": 3, "per": {"value": 1, "unit": "days"}})) == {}
    assert set(errors(with_(frequency_cap={"max": 0, "per": {"value": 0, "unit": "days"}}))) == {
        "settings.frequency_cap.max",
        "settings.frequency_cap.per.value",
    }


def test_quiet_hours():
    assert errors(with_(quiet_hours={"start": "21:00", "end": "08:00"})) == {}
    assert set(errors(with_(quiet_hours={"start": "24:00", "end": "8:00"}))) == {
        "settings.quiet_hours.start",
        "settings.quiet_hours.end",
    }
    assert "settings.quiet_hours.end" in errors(
        with_(quiet_hours={"start": "21:00", "end": "21:00"})
    )


def test_holdout_percent_is_0_to_50():
    assert errors(with_(holdout={"percent": 10})) == {}
    assert errors(with_(holdout={"percent": 0})) == {}
    assert "settings.holdout.percent" in errors(with_(holdout={"percent": 51}))
    assert "settings.holdout.percent" in errors(with_(holdout={"percent": "10"}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=15,
)
setting_names = st.sampled_from(sorted(DEFAULT_SETTINGS))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(setting_names, json_values, max_size=5))
def test_settings_validation_never_raises(garbage):
    found = settings_validate(settings=garbage, workspace=None)
    assert all(e.field.startswith("settings") and e.message for e in found)
