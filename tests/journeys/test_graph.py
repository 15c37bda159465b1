"""Graph validation: every rule of the issue, each problem named by node and field, all at once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.graph import graph_parse, graph_validate

from .builders import days, edge, email, node, valid_graph


def problems(graph, workspace=None):
    return [
        (p.node_id, p.field, p.message) for p in graph_validate(graph=graph, workspace=workspace)
    ]


def fields(graph, workspace=None):
    return {(p.node_id, p.field) for p in graph_validate(graph=graph, workspace=workspace)}


def test_a_complete_graph_is_valid():
    assert problems(valid_graph()) == []


def test_unconnected_handles_end_the_journey_and_are_allowed():
    graph = {
        "nodes": [
            node("start", "start"),
            node("check", "event_branch", {"event": "purchase", "within": "since_entry"}),
        ],
        "edges": [edge("start", "next", "check")],  # neither yes nor no is connected
    }
    assert problems(graph) == []


@pytest.mark.parametrize(
    "graph,message",
    [
        ([], "must be"),
        ({"nodes": []}, "must be"),
        ({"nodes": {}, "edges": []}, "must be"),
    ],
)
def test_not_nodes_and_edges_is_malformed(graph, message):
    found = graph_parse(graph)
    assert [p.field for p in found] == ["graph"]
    assert message in found[0].message


def test_no_start_node():
    graph = {"nodes": [node("end", "exit")], "edges": []}
    assert (None, "graph.nodes") in fields(graph)


def test_two_start_nodes():
    graph = valid_graph()
    graph["nodes"].append(node("start2", "start"))
    graph["edges"].append(edge("start2", "next", "end"))
    found = problems(graph)
    assert [(n, f) for n, f, _ in found] == [("start2", "type")]
    assert "exactly one start" in found[0][2]


def test_unknown_node_type():
    graph = valid_graph()
    graph["nodes"].append(node("sms", "carrier_pigeon"))
    assert ("sms", "graph.nodes.4.type") in fields(graph)
    assert graph_parse(graph)[0].message == "Unknown node type 'carrier_pigeon'."


def test_node_without_id_and_duplicate_ids_are_malformed():
    graph = valid_graph()
    graph["nodes"].append({"type": "exit", "config": {}})
    graph["nodes"].append(node("end", "exit"))
    assert {p.field for p in graph_parse(graph)} == {"graph.nodes.4.id", "graph.nodes.5.id"}
    assert any("Duplicate node id 'end'" in p.message for p in graph_parse(graph))


def test_message_without_content():
    graph = valid_graph()
    graph["nodes"][2]["config"] = {"channel": "email"}
    assert ("mail", "config.content") in fields(graph)


def test_message_with_bad_liquid():
    graph = valid_graph()
    graph["nodes"][2]["config"] = email(subject="Hi {{ customer.first_name ")
    found = [(n, f) for n, f, _ in problems(graph)]
    assert found == [("mail", "config.content.subject")]


def test_split_not_summing_to_100():
    graph = {
        "nodes": [
            node("start", "start"),
            node(
                "ab",
                "split",
                {
                    "paths": [
                        {"id": "a", "name": "A", "percent": 60},
                        {"id": "b", "name": "B", "percent": 30},
                    ]
                },
            ),
        ],
        "edges": [edge("start", "next", "ab")],
    }
    found = problems(graph)
    assert [(n, f) for n, f, _ in found] == [("ab", "config.paths")]
    assert "sum to 100 (they sum to 90)" in found[0][2]


def test_wait_without_duration():
    graph = valid_graph()
    graph["nodes"][1]["config"] = {"mode": "duration"}
    assert fields(graph) == {("wait", "config.duration")}


def test_branch_group_with_invalid_condition():
    graph = {
        "nodes": [
            node("start", "start"),
            node(
                "vip",
                "branch",
                {
                    "groups": [
                        {
                            "id": "vip",
                            "name": "VIP",
                            "condition": {"attribute": "plan", "op": "bogus", "value": 1},
                        }
                    ]
                },
            ),
        ],
        "edges": [edge("start", "next", "vip")],
    }
    found = [f for n, f in fields(graph) if n == "vip"]
    assert found and all(f.startswith("config.groups.0.condition") for f in found)


def test_edge_from_an_unknown_handle():
    graph = valid_graph()
    graph["edges"][1]["source_handle"] = "timeout"  # a duration wait only has `next`
    found = problems(graph)
    assert ("wait", "graph.edges.1.source_handle") in {(n, f) for n, f, _ in found}
    assert any("this node has: next" in m for _, _, m in found)


def test_edges_from_or_to_unknown_nodes():
    graph = valid_graph()
    graph["edges"] += [edge("ghost", "next", "end"), edge("mail", "failed", "nowhere")]
    assert {(None, "graph.edges.3.source"), ("mail", "graph.edges.4.target")} <= fields(graph)


def test_nothing_leads_into_start():
    graph = valid_graph()
    graph["edges"].append(edge("mail", "failed", "start"))
    assert ("mail", "graph.edges.3.target") in fields(graph)


def test_one_edge_per_source_handle():
    graph = valid_graph()
    graph["nodes"].append(node("end2", "exit"))
    graph["edges"].append(edge("mail", "next", "end2"))  # mail.next already leads to `end`
    found = problems(graph)
    assert ("mail", "graph.edges.3.source_handle") in {(n, f) for n, f, _ in found}
    # end2's only incoming edge was refused, so it is also unreachable
    assert ("end2", "node") in {(n, f) for n, f, _ in found}


def test_unreachable_nodes():
    graph = valid_graph()
    graph["nodes"].append(node("orphan", "exit"))
    assert fields(graph) == {("orphan", "node")}


def test_cycles_are_refused():
    graph = {
        "nodes": [
            node("start", "start"),
            node("w1", "wait", {"mode": "duration", "duration": days(1)}),
            node("w2", "wait", {"mode": "duration", "duration": days(1)}),
        ],
        "edges": [edge("start", "next", "w1"), edge("w1", "next", "w2"), edge("w2", "next", "w1")],
    }
    found = problems(graph)
    assert [(n, f) for n, f, _ in found] == [("w2", "graph.edges.2")]
    assert "w1 → w2 → w1" in found[0][2]


def test_self_loop_is_a_cycle():
    graph = valid_graph()
    graph["edges"].append(edge("mail", "failed", "mail"))
    assert ("mail", "graph.edges.3") in fields(graph)


def test_every_problem_is_reported_at_once():
    graph = {
        "nodes": [
            node("start", "start"),
            node("wait", "wait", {"mode": "duration"}),
            node(
                "ab", "split", {"paths": [{"id": "a", "percent": 10}, {"id": "b", "percent": 10}]}
            ),
            node("orphan", "exit"),
        ],
        "edges": [edge("start", "next", "wait"), edge("wait", "nope", "ab")],
    }
    assert fields(graph) == {
        ("wait", "config.duration"),
        ("ab", "config.paths"),
        ("wait", "graph.edges.1.source_handle"),
        ("ab", "node"),
        ("orphan", "node"),
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
node_types = st.sampled_from(
    [
        "start",
        "wait",
        "branch",
        "event_branch",
        "split",
        "update_profile",
        "exit",
        "message",
        "webhook",
    ]
)
config_keys = st.sampled_from(
    [
        "mode",
        "duration",
        "groups",
        "paths",
        "event",
        "within",
        "set",
        "channel",
        "content",
        "timeout",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    nodes=st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["a", "b", "c", "start"]), "type": node_types},
            optional={
                "config": st.dictionaries(config_keys, json_values, max_size=3) | json_values
            },
        ),
        max_size=5,
    ),
    edges=st.lists(
        st.dictionaries(
            st.sampled_from(["source", "source_handle", "target"]),
            json_values | st.sampled_from(["a", "b", "next", "else"]),
        ),
        max_size=5,
    ),
)
def test_validation_never_raises(nodes, edges):
    for found in (
        graph_validate(graph={"nodes": nodes, "edges": edges}),
        graph_parse({"nodes": nodes, "edges": edges}),
    ):
        assert all(isinstance(p.field, str) and p.message for p in found)


def test_a_graph_has_at_most_500_nodes():
    graph = {"nodes": [node(f"n{i}", "exit") for i in range(501)], "edges": []}
    assert [(p.field, p.message) for p in graph_parse(graph)] == [
        ("graph.nodes", "At most 500 nodes.")
    ]
