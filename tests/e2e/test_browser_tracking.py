"""A shop's web page in Chromium tracking into Waymark with a publishable key, as analytics.js
does: the settings from cdnURL, then text/plain and Basic-auth calls to the apiHost they name.
The browser's own CORS rules decide what the page may send and read."""

from __future__ import annotations

import pytest

from audiences.models import Event
from tests.conftest import make_client

from .sites import Site

PAGE = b"""<!doctype html><html><body><script>
window.track = async (cdn, key, userId) => {
  const out = {};
  try {
    const settings = await (await fetch(`${cdn}/v1/projects/${key}/settings`)).json();
    const segment = settings.integrations["Segment.io"];
    const api = `${segment.protocol}://${segment.apiHost}`;
    out.apiHost = api;
    const beacon = await fetch(`${api}/t`, {
      method: "POST", headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({type: "track", userId, event: "added_to_cart", writeKey: key}),
    });
    out.track = beacon.status;
    const page = await fetch(`${api}/p`, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Basic " + btoa(key + ":")},
      body: JSON.stringify({type: "page", userId, name: "Home"}),
    });
    out.page = page.status;
  } catch (error) {
    out.error = String(error);
  }
  return out;
};
window.beacon = async (api, key, userId) => {
  try {
    const answer = await fetch(`${api}/t`, {
      method: "POST", headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({type: "track", userId, event: "from_elsewhere", writeKey: key}),
    });
    return {status: answer.status};
  } catch (error) {
    return {error: String(error)};
  }
};
</script></body></html>"""


@pytest.fixture
def sites():
    made = [Site({"/": (PAGE, "text/html")}) for _ in range(3)]
    yield made
    for site in made:
        site.close()


def publishable(workspace, origin: str, name: str) -> str:
    response = make_client(workspace).post(
        "/api/v1/api-keys",
        {"name": name, "kind": "publishable", "allowed_origins": [origin]},
        format="json",
    )
    assert response.status_code == 201
    return response.json()["key"]


def events(workspace) -> list[tuple[str, str]]:
    return list(
        Event.objects.for_workspace(workspace)
        .order_by("id")
        .values_list("customer__external_id", "name")
    )


def test_a_page_on_an_allowed_origin_tracks_and_another_origin_cannot(
    live_server_url, browser_page, workspace, sites
):
    shop, blog, stranger = sites
    shop_key = publishable(workspace, shop.origin, "shop")
    publishable(workspace, blog.origin, "blog")

    browser_page.goto(shop.origin)
    answers = browser_page.evaluate(
        "([cdn, key]) => track(cdn, key, 'ann')", [live_server_url, shop_key]
    )
    assert answers == {"apiHost": f"{live_server_url}/v1", "track": 200, "page": 200}
    assert events(workspace) == [("ann", "added_to_cart"), ("ann", "page_viewed")]

    # The blog's origin has a key of its own, but the shop's key is refused there; the answer
    # is readable (the origin is known), and nothing is stored.
    browser_page.goto(blog.origin)
    refused = browser_page.evaluate(
        "([api, key]) => beacon(api, key, 'bob')", [f"{live_server_url}/v1", shop_key]
    )
    assert refused == {"status": 403}
    # An origin no key allows cannot even read the settings: the browser blocks the answer.
    browser_page.goto(stranger.origin)
    blocked = browser_page.evaluate(
        "([cdn, key]) => track(cdn, key, 'eve')", [live_server_url, shop_key]
    )
    assert "error" in blocked
    assert events(workspace) == [("ann", "added_to_cart"), ("ann", "page_viewed")]
