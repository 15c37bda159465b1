import pytest

pytestmark = pytest.mark.django_db


def test_healthz_checks_postgres_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "postgres": "ok", "redis": "ok"}


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/api-keys" in paths and "/api/v1/api-keys/{id}" in paths
    assert client.get("/api/docs").status_code == 200


def test_spa_serves_client_routes_but_not_api(client):
    assert client.get("/journeys/12/canvas").status_code == 200
    assert client.get("/api/v1/unknown").json()["error"]["code"] == "not_found"
