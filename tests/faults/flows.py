"""What the fault tests do through the public API: customers, channels and journeys."""

from __future__ import annotations

import httpx

from channels_app.outbound_slots import SLOT_LAPSE_SECONDS


def node(node_id: str, type_: str, config: dict | None = None) -> dict:
    return {"id": node_id, "type": type_, "name": node_id, "position": {"x": 0, "y": 0}, "config": config or {}}


def edge(source: str, handle: str, target: str) -> dict:
    return {"source": source, "source_handle": handle, "target": target}


def ok(response: httpx.Response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (200, 201, 202)), (response.status_code, response.text)
    return response.json() if response.content else {}


def customers_upload(client: httpx.Client, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}{i}" for i in range(n)]
    for start in range(0, n, 5000):
        rows = [{"external_id": x, "email": f"{x}@example.com"} for x in ids[start : start + 5000]]
        body = ok(client.post("/customers", json={"customers": rows}), 200)
        assert not body["errors"], body["errors"][:3]
    return ids


def http_channel(client: httpx.Client, url: str, timeout_seconds: float = 10) -> int:
    body = ok(client.post("/channels", json={
        "channel": "email", "provider": "http", "name": "local provider",
        "credentials": {"url": url}, "settings": {"timeout_seconds": timeout_seconds},
    }), 201)
    return body["id"]


def journey_started(client: httpx.Client, name: str, nodes: list[dict], edges: list[dict], settings: dict | None = None) -> int:
    full = {"entry": {"type": "api"}, "re_entry": {"policy": "never"}, **(settings or {})}
    journey = ok(client.post("/journeys", json={"name": name, "graph": {"nodes": nodes, "edges": edges}, "settings": full}), 201)
    ok(client.put(f"/journeys/{journey['id']}/start", json={}), 200)
    return journey["id"]


def enroll(client: httpx.Client, journey_id: int, customer_ids: list[str]) -> dict:
    return ok(client.post(f"/journeys/{journey_id}/enrollments", json={"customer_ids": customer_ids}), 202)


def email_node(node_id: str, channel_id: int) -> dict:
    return node(node_id, "message", {
        "channel": "email", "channel_id": channel_id,
        "content": {"subject": "Hi {{ customer.external_id }}", "text": "Hello"},
    })


# After a kill -9 the dead worker's outbound slots come back only when they lapse
# (channels_app.outbound_slots): until then the new worker sends through the slots left, so the
# runs may take up to that long to finish, and longer on a loaded machine.
AFTER_KILL_SECONDS = SLOT_LAPSE_SECONDS + 150
AFTER_KILL_TEST_TIMEOUT = AFTER_KILL_SECONDS + 420


def all_completed(live, journey_id: int, n: int) -> bool:
    return live.sql(
        "SELECT count(*) FROM journeys_enrollment WHERE journey_id = %s AND state = 'completed'", [journey_id]
    )[0][0] == n


def not_finished_once(live, journey_id: int) -> list[tuple]:
    """Enrollments of the journey without exactly one `completed` history row (lost or doubled)."""
    return live.sql(
        """SELECT e.id, count(s.id) FROM journeys_enrollment e
           LEFT JOIN journeys_stepevent s ON s.enrollment_id = e.id AND s.kind = 'completed'
           WHERE e.journey_id = %s GROUP BY e.id HAVING count(s.id) <> 1""",
        [journey_id],
    )


def mail_journey(client: httpx.Client, name: str, channel_id: int, settings: dict | None = None) -> int:
    """start → one email → exit (a failed send goes on to the exit too), started."""
    return journey_started(
        client, name,
        [node("start", "start"), email_node("mail", channel_id), node("done", "exit")],
        [edge("start", "next", "mail"), edge("mail", "next", "done"), edge("mail", "failed", "done")],
        settings,
    )
