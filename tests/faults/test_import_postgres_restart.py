"""PostgreSQL restarted in the middle of a CSV import: the job is not left `running` forever nor
marked failed for an outage; it runs again once the database is back and ends `done` with every
customer stored once."""

from __future__ import annotations

import io
import time

from .conftest import wait_until

ROWS = 200_000


def _csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("external_id,email,plan,score\n")
    for i in range(rows):
        out.write(f"imp-{i},imp{i}@example.com,{('free', 'pro')[i % 2]},{i % 100}\n")
    return out.getvalue().encode()


def test_postgres_restart_during_import_retries_the_job_to_done(live, record_property):
    live.web()
    live.worker("worker", concurrency=2)
    workspace_id, client = live.new_workspace("import-restart")
    response = client.put("/customers/import", files={"file": ("customers.csv", _csv(ROWS), "text/csv")})
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]

    def job() -> dict:
        # While PostgreSQL comes back the API answers 503 (an error body): read that as "not yet".
        response = client.get(f"/imports/{import_id}")
        return response.json() if response.status_code == 200 else {"status": None, "processed": 0}

    wait_until(lambda: job()["status"] == "running" and job()["processed"] > 0, 120, 0.05,
               what="the import under way")
    live.postgres.stop()
    time.sleep(2.0)
    live.postgres.start()
    wait_until(lambda: job()["status"] in ("done", "failed"), 180, 0.5, what="the import to end")
    final = job()
    stored = live.sql(
        "SELECT count(*), count(DISTINCT external_id) FROM audiences_customer WHERE workspace_id = %s",
        [workspace_id],
    )[0]
    record_property("import_rows_stored", stored[0])
    assert final["status"] == "done", final
    assert (final["processed"], final["failed"]) == (ROWS, 0), final
    assert stored == (ROWS, ROWS)
    # Attributes typed as on a clean import (not half-written by the interrupted run).
    assert live.sql(
        "SELECT attributes->'score', attributes->>'plan' FROM audiences_customer"
        " WHERE workspace_id = %s AND external_id = 'imp-12345'", [workspace_id],
    ) == [(45, "pro")]
