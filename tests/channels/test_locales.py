"""Localized content: `content.locales` variants picked by the customer's locale (es-MX, then es,
then the top-level fields), recorded on the Message, offered by the preview, checked by validate."""

from __future__ import annotations

import pytest

from channels_app.services import MessageStep, channel_create, message_prepare

from .conftest import make_customer

pytestmark = pytest.mark.django_db

EMAIL = {
    "subject": "Hello {{ customer.name }}",
    "text": "Default",
    "locales": {
        "es": {"subject": "Hola {{ customer.name }}", "text": "Español"},
        "es-MX": {"subject": "Qué onda {{ customer.name }}", "text": "México"},
        "ko": {"subject": "안녕하세요 {{ customer.name }}", "text": "한국어"},
    },
}


@pytest.mark.parametrize(
    "customer_locale,picked,subject",
    [
        ("es-MX", "es-MX", "Qué onda Ana"),
        ("es_mx", "es-MX", "Qué onda Ana"),  # case and separator do not matter
        ("es-AR", "es", "Hola Ana"),  # no es-AR: its language
        ("es", "es", "Hola Ana"),
        ("ko-KR", "ko", "안녕하세요 Ana"),
        ("fr-FR", "", "Hello Ana"),  # neither: the top-level fields
        ("", "", "Hello Ana"),
    ],
)
def test_the_most_specific_locale_wins_and_is_recorded(api, workspace, customer_locale, picked, subject):
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="E")
    customer = make_customer(
        workspace, "ana", email="ana@x.test", locale=customer_locale, attributes={"name": "Ana"}
    )
    outcome = message_prepare(
        step=MessageStep(workspace=workspace, customer=customer, node_id="m",
                         config={"channel": "email", "content": EMAIL})
    )
    assert outcome.kind == "queued"
    assert outcome.message.content["subject"] == subject and outcome.message.locale == picked
    listed = api.get("/api/v1/messages", {"customer_id": "ana"}).json()["results"]
    assert [(m["locale"], m["content"]["subject"]) for m in listed] == [(picked, subject)]


def test_a_push_variant_keeps_the_top_level_platforms_and_data(workspace):
    channel_create(workspace=workspace, channel="push", provider="sandbox", name="P")
    customer = make_customer(workspace, locale="ko", push_tokens=[{"platform": "ios", "token": "t"}])
    content = {"title": "Sale", "body": "Now", "platforms": ["ios"], "data": {"deep": "link"},
               "locales": {"ko": {"title": "세일", "body": "지금"}}}
    outcome = message_prepare(
        step=MessageStep(workspace=workspace, customer=customer, node_id="m",
                         config={"channel": "push", "content": content})
    )
    assert outcome.message.content == {"title": "세일", "body": "지금", "platforms": ["ios"], "data": {"deep": "link"}}


def test_preview_takes_a_locale(api):
    api.post("/api/v1/customers", {"customers": [{"external_id": "ana", "locale": "es-MX",
                                                  "attributes": {"name": "Ana"}}]}, format="json")
    body = {"channel": "email", "content": EMAIL, "attributes": {"name": "Bo"}}
    assert api.post("/api/v1/messages/preview", {**body, "locale": "ko"}, format="json").json()["content"][
        "subject"] == "안녕하세요 Bo"
    assert api.post("/api/v1/messages/preview", {**body, "locale": "es-CL"}, format="json").json()["content"][
        "subject"] == "Hola Bo"
    assert api.post("/api/v1/messages/preview", body, format="json").json()["content"]["subject"] == "Hello Bo"
    as_customer = {"channel": "email", "content": EMAIL, "customer_id": "ana"}
    assert api.post("/api/v1/messages/preview", as_customer, format="json").json()["content"][
        "subject"] == "Qué onda Ana"


def _validate(api, content):
    graph = {
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "m", "type": "message", "config": {"channel": "email", "content": content}},
        ],
        "edges": [{"source": "start", "source_handle": "next", "target": "m"}],
    }
    journey = api.post("/api/v1/journeys", {"name": "J", "graph": graph,
                                            "settings": {"entry": {"type": "api"}}}, format="json").json()
    body = api.post(f"/api/v1/journeys/{journey['id']}/validate").json()
    return {e["field"] for e in body["errors"] if e["node_id"] == "m"}


def test_validate_flags_a_locale_missing_a_required_field(api, channels_set_up):
    assert _validate(api, EMAIL) == set()
    missing = {**EMAIL, "locales": {**EMAIL["locales"], "ko": {"text": "제목 없음"}}}
    assert _validate(api, missing) == {"config.content.locales.ko.subject"}
    broken = {**EMAIL, "locales": {"not a tag": {"subject": "x", "text": "y"}, "es": "text",
                                   "de": {"subject": "{{ unclosed", "text": "y"}}}
    assert _validate(api, broken) == {
        "config.content.locales.not a tag", "config.content.locales.es", "config.content.locales.de.subject",
    }
    preview = api.post("/api/v1/messages/preview", {"channel": "email", "content": missing}, format="json")
    assert preview.status_code == 400 and "locales.ko.subject" in preview.json()["error"]["details"]["content"]
