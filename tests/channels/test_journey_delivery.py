"""A journey built and run through the API delivers personalised messages to local servers that
speak each provider's wire format — SMTP, Twilio, Telegram, WhatsApp Cloud — and takes its
fallback (a webhook) when a customer cannot get the SMS."""

from __future__ import annotations

from email import message_from_bytes

from tests.conftest import wait_for


def _node(node_id, node_type, config):
    return {"id": node_id, "type": node_type, "config": config}


def _edge(source, handle, target):
    return {"source": source, "source_handle": handle, "target": target}


def test_journey_sends_through_every_provider_with_personalisation_and_fallback(
    celery_worker, api, smtp_server, http_server
):
    http_server.route("POST", "/2010-04-01/Accounts/AC1/Messages.json", 201, {"sid": "SM1", "status": "queued"})
    http_server.route("POST", "/botT:1/sendMessage", 200, {"ok": True, "result": {"message_id": 7}})
    http_server.route("POST", "/v21.0/PN1/messages", 200, {"messages": [{"id": "wamid.1"}]})
    http_server.route("POST", "/fallback", 200, {"ok": True})
    channels = [
        {"channel": "email", "provider": "smtp", "name": "Mail",
         "credentials": {"host": "127.0.0.1", "port": smtp_server.port}, "settings": {"from_email": "hi@shop.test"}},
        {"channel": "sms", "provider": "twilio", "name": "Twilio",
         "credentials": {"account_sid": "AC1", "auth_token": "t", "from": "+15550001", "base_url": http_server.url}},
        {"channel": "telegram", "provider": "telegram", "name": "Bot",
         "credentials": {"bot_token": "T:1", "base_url": http_server.url}},
        {"channel": "whatsapp", "provider": "whatsapp_cloud", "name": "WA",
         "credentials": {"phone_number_id": "PN1", "access_token": "EAAG", "base_url": http_server.url}},
    ]
    for body in channels:
        response = api.post("/api/v1/channels", body, format="json")
        assert response.status_code == 201, response.content

    customers = [
        {"external_id": "ada", "email": "ada@example.com", "phone": "+14155550101",
         "attributes": {"first_name": "Ada", "telegram_chat_id": "4242"}},
        {"external_id": "bob", "email": "bob@example.com", "attributes": {"first_name": "Bob"}},
    ]
    assert api.post("/api/v1/customers", {"customers": customers}, format="json").json()["created"] == 2

    graph = {
        "nodes": [
            _node("start", "start", {}),
            _node("mail", "message", {"channel": "email", "content": {
                "subject": "Hello {{ customer.first_name }}", "html": "<p>Your cart, {{ customer.first_name }}</p>",
                "text": "Your cart"}}),
            _node("sms", "message", {"channel": "sms", "content": {"text": "{{ customer.first_name }}, 10% off"}}),
            _node("tg", "message", {"channel": "telegram", "content": {"text": "Ping {{ customer.first_name }}"}}),
            _node("wa", "message", {"channel": "whatsapp", "content": {"text": "WA for {{ customer.first_name }}"}}),
            _node("fallback", "webhook", {"method": "POST", "url": f"{http_server.url}/fallback", "headers": {},
                                          "body": '{"who": "{{ customer.external_id }}"}', "timeout_seconds": 5,
                                          "retries": 0}),
            _node("done", "exit", {}),
        ],
        "edges": [
            _edge("start", "next", "mail"),
            _edge("mail", "next", "sms"),
            _edge("sms", "next", "tg"),
            _edge("sms", "failed", "fallback"),
            _edge("tg", "next", "wa"),
            _edge("wa", "next", "done"),
            _edge("fallback", "next", "done"),
        ],
    }
    journey = api.post("/api/v1/journeys", {"name": "Cart", "graph": graph, "settings": {"entry": {"type": "api"}}},
                       format="json").json()
    started = api.put(f"/api/v1/journeys/{journey['id']}/start", {}, format="json")
    assert started.status_code == 200, started.content
    enrolled = api.post(f"/api/v1/journeys/{journey['id']}/enrollments", {"customer_ids": ["ada", "bob"]},
                        format="json")
    assert enrolled.status_code == 202, enrolled.content

    def states():
        rows = [api.get(f"/api/v1/journeys/{journey['id']}/enrollments/{c}").json() for c in ("ada", "bob")]
        return rows if all(r.get("state") == "completed" for r in rows) else None

    ada, bob = wait_for(states, timeout=60)

    subjects = sorted(message_from_bytes(e.content)["Subject"] for e in smtp_server.envelopes)
    assert subjects == ["Hello Ada", "Hello Bob"]
    by_path = {}
    for request in http_server.requests:
        by_path.setdefault(request.path, []).append(request)
    sms = by_path["/2010-04-01/Accounts/AC1/Messages.json"]
    assert [r.form()["Body"] for r in sms] == ["Ada, 10% off"] and sms[0].form()["To"] == "+14155550101"
    telegram = by_path["/botT:1/sendMessage"]
    assert [(r.json()["chat_id"], r.json()["text"]) for r in telegram] == [("4242", "Ping Ada")]
    whatsapp = by_path["/v21.0/PN1/messages"]
    assert len(whatsapp) == 1 and whatsapp[0].json()["to"].lstrip("+") == "14155550101"
    assert "WA for Ada" in whatsapp[0].body.decode()
    assert [r.json() for r in by_path["/fallback"]] == [{"who": "bob"}]

    def path_of(enrollment):
        return [(h["node_id"], h["handle"]) for h in enrollment["history"] if h["kind"] == "passed"]

    assert ("sms", "failed") in path_of(bob) and ("fallback", "next") in path_of(bob)
    assert ("wa", "next") in path_of(ada)
    messages = api.get("/api/v1/messages", {"customer_id": "bob"}).json()["results"]
    assert {(m["channel"], m["status"], m["error"]) for m in messages} >= {("sms", "failed", "no_address")}
