"""A workspace's default country: Korean numbers typed "010-1234-5678", "01012345678" or
"+82 10-1234-5678" are one phone (+821012345678) whichever way they arrive (customer API, CSV import,
the Segment-compatible identify, a Kakao test send), and a national number is read in the
workspace's own country: "010-…" is Korean in a KR workspace and refused in a US one."""

from __future__ import annotations

import io

import pytest

from audiences.models import Customer
from channels_app.services import channel_create, channel_test_send
from tests.channels.kakao_dealers import Dealer, sens_server
from tests.conftest import make_client, wait_for
from tests.segment_api.conftest import send
from workspaces.errors import ServiceValidationError
from workspaces.models import Role

KOREAN_FORMS = ("010-1234-5678", "01012345678", "+82 10-1234-5678")
E164 = "+821012345678"


def _set_country(api, country):
    response = api.patch("/api/v1/workspace", {"default_country": country}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["default_country"]


def _phones(workspace) -> dict[str, str]:
    return dict(Customer.objects.for_workspace(workspace).values_list("external_id", "phone"))


def test_default_country_is_set_shown_and_checked(api, workspace):
    assert api.get("/api/v1/workspace").json()["default_country"] == ""  # E.164 required, as before
    assert _set_country(api, "kr") == "KR"
    assert api.get("/api/v1/workspace").json()["default_country"] == "KR"
    refused = api.patch("/api/v1/workspace", {"default_country": "XX"}, format="json")
    assert refused.status_code == 400
    assert "default_country" in refused.json()["error"]["details"]
    assert _set_country(api, None) == ""
    editor = make_client(workspace, Role.EDITOR)
    assert editor.patch("/api/v1/workspace", {"default_country": "US"}, format="json").status_code == 403


def test_the_three_korean_forms_are_one_phone_through_the_api(api, workspace):
    _set_country(api, "KR")
    body = {"customers": [{"external_id": f"api-{i}", "phone": raw} for i, raw in enumerate(KOREAN_FORMS)]}
    result = api.post("/api/v1/customers", body, format="json").json()
    assert (result["created"], result["errors"]) == (3, [])
    for raw in KOREAN_FORMS:  # PATCH reads the same way
        response = api.patch("/api/v1/customers/api-0", {"phone": raw}, format="json")
        assert response.status_code == 200 and response.json()["phone"] == E164
    assert set(_phones(workspace).values()) == {E164}


def test_the_three_korean_forms_are_one_phone_through_identify(api, workspace):
    _set_country(api, "KR")
    for i, raw in enumerate(KOREAN_FORMS):
        assert send("identify", {"userId": f"id-{i}", "traits": {"phone": raw}}, api.raw_key).status_code == 200
        assert send("i", {"userId": f"i-{i}", "traits": {"phone": raw}}, api.raw_key).status_code == 200
    assert _phones(workspace) == {f"{kind}-{i}": E164 for kind in ("id", "i") for i in range(3)}


def test_the_three_korean_forms_are_one_phone_through_the_import(celery_worker, api, workspace):
    _set_country(api, "KR")
    # Enough rows for the import's column path (batches) and a refused row for its row path.
    lines = ["external_id,phone"] + [f"imp-{i},{KOREAN_FORMS[i % 3]}" for i in range(600)] + ["bad,010-12"]
    upload = io.BytesIO(("\n".join(lines) + "\n").encode())
    upload.name = "customers.csv"
    import_id = api.put("/api/v1/customers/import", {"file": upload}, format="multipart").json()["import_id"]
    data = wait_for(lambda: (d := api.get(f"/api/v1/imports/{import_id}").json())["status"] in ("done", "failed") and d,
                    timeout=60)
    assert (data["status"], data["created"], data["failed"]) == ("done", 600, 1), data
    assert data["errors"][0]["line"] == 602 and "phone" in data["errors"][0]["error"]
    assert set(_phones(workspace).values()) == {E164}


def test_a_korean_and_an_american_workspace_read_010_differently(api, workspace, other_api, other_workspace):
    _set_country(api, "KR")
    _set_country(other_api, "US")
    rows = {"customers": [{"external_id": "c1", "phone": "010-1234-5678"},
                          {"external_id": "c2", "phone": "(415) 555-2671"},
                          {"external_id": "c3", "phone": "+82 10-1234-5678"}]}
    korean = api.post("/api/v1/customers", rows, format="json").json()
    american = other_api.post("/api/v1/customers", rows, format="json").json()
    assert korean["errors"] == [] and _phones(workspace)["c1"] == E164
    # In the US, 010… is no number; the error names the field. A "+" number keeps its own country.
    assert [(e["index"], e["error"].split(" ")[0]) for e in american["errors"]] == [(0, "phone")]
    assert _phones(other_workspace) == {"c2": "+14155552671", "c3": E164}
    patch = other_api.patch("/api/v1/customers/c2", {"phone": "010-1234-5678"}, format="json")
    assert patch.status_code == 400 and "phone" in patch.json()["error"]["details"]


def test_without_a_default_country_national_numbers_are_refused_as_before(api, workspace):
    result = api.post("/api/v1/customers", {"customers": [{"external_id": "c1", "phone": "010-1234-5678"},
                                                         {"external_id": "c2", "phone": "+82 10-1234-5678"}]},
                      format="json").json()
    assert [e["index"] for e in result["errors"]] == [0] and "E.164" in result["errors"][0]["error"]
    assert _phones(workspace) == {"c2": E164}


@pytest.fixture
def sens():
    dealer = Dealer(kakao_users={"01012345678"}, templates={"HELLO": "#{name}님, 안녕하세요."})
    server = sens_server(dealer, access_key="AK", secret_key="SK", service_id="svc", sms_service_id="sms",
                         plus_friend_id="@shop", sms_from="0212345678")
    yield dealer
    server.stop()


def test_a_kakao_test_send_reads_the_number_in_the_workspace_country(api, workspace, sens):
    _set_country(api, "KR")
    config = channel_create(
        workspace=workspace, channel="kakao_alimtalk", provider="ncloud_sens", name="SENS",
        credentials={"access_key": "AK", "secret_key": "SK", "service_id": "svc", "plus_friend_id": "@shop",
                     "base_url": sens.url},
    )
    content = {"template_code": "HELLO", "text": "#{name}님, 안녕하세요.", "variables": {"name": "민수"}}
    message = channel_test_send(config=config, to="010-1234-5678", content=content)
    assert (message.status, message.to) == ("sent", E164), message.error_detail
    assert [m["to"] for m in sens.accepted] == ["01012345678"]  # the dealer's national form
    with pytest.raises(ServiceValidationError) as refused:
        channel_test_send(config=config, to="010-12", content=content)
    assert "to" in refused.value.details
