"""CSV import through a real Celery worker: COPY + set-based upsert, typed attributes, bad lines
reported with their own line numbers, progress while it runs, list membership, size limit."""

from __future__ import annotations

import io

import pytest

from audiences import hooks, importer
from audiences.models import Customer, ImportChunk, ImportJob, ListMember
from tests.conftest import wait_for

from .factories import CustomerFactory, CustomerListFactory

CSV = (
    "\ufeffcustomerId,email,phone,timezone,tags,plan,age,score,vip,signup,zip,note\r\n"  # line 1
    "c1,ANA@example.com,+14155552671,Europe/Paris,a;b; c ,pro,31,4.5,true,2024-03-01,02134,\"hello, world\"\r\n"
    ",nobody@example.com,,,,,,,,,,\r\n"  # line 3: missing id
    "c3,not-an-email,,,,,,,,,,\r\n"  # line 4
    "c4,ok@example.com,555,,,,,,,,,\r\n"  # line 5: bad phone
    "c5,x@example.com\r\n"  # line 6: broken row
    "c6,,,,,free,7,,false,,,\"multi\r\nline\"\r\n"  # lines 7-8
    "existing,,,,,,40,,,,,\r\n"  # line 9
    "c10,,,Mars/Base,,,,,,,,\r\n"  # line 10: bad timezone
)


def upload(api, content: bytes, query: str = ""):
    f = io.BytesIO(content)
    f.name = "customers.csv"
    return api.put(f"/api/v1/customers/import{query}", {"file": f}, format="multipart")


def finished(api, import_id):
    def check():
        data = api.get(f"/api/v1/imports/{import_id}").json()
        return data if data["status"] in ("done", "failed") else None

    return wait_for(check, timeout=30)


def test_import_keeps_good_lines_and_reports_bad_ones(celery_worker, api, workspace):
    CustomerFactory(workspace=workspace, external_id="existing", attributes={"plan": "legacy", "age": 1})
    lst = CustomerListFactory(workspace=workspace)
    response = upload(api, CSV.encode(), f"?list_id={lst.pk}")
    assert response.status_code == 202
    data = finished(api, response.json()["import_id"])
    # The upload (personal data) is removed from the database when done.
    assert not ImportChunk.objects.for_workspace(workspace).filter(job_id=response.json()["import_id"]).exists()
    assert data["status"] == "done", data
    assert (data["created"], data["updated"], data["failed"], data["processed"], data["total"]) == (2, 1, 5, 8, 8)
    assert [(e["line"], e["error"].split(" ")[0]) for e in data["errors"]] == [
        (3, "missing"), (4, "malformed"), (5, "malformed"), (6, "broken"), (10, "malformed")
    ]
    assert "phone" in data["errors"][2]["error"] and "timezone" in data["errors"][4]["error"]
    customers = {c.external_id: c for c in Customer.objects.for_workspace(workspace)}
    c1 = customers["c1"]
    assert (c1.email, c1.phone, c1.timezone, sorted(c1.tags)) == ("ana@example.com", "+14155552671", "Europe/Paris", ["a", "b", "c"])
    assert c1.attributes == {"plan": "pro", "age": 31, "score": 4.5, "vip": True, "signup": "2024-03-01", "zip": "02134", "note": "hello, world"}
    assert customers["c6"].attributes == {"plan": "free", "age": 7, "vip": False, "note": "multi\r\nline"}
    assert customers["existing"].attributes == {"plan": "legacy", "age": 40}  # merged
    assert set(customers) == {"c1", "c6", "existing"}
    members = set(ListMember.objects.for_workspace(workspace).filter(customer_list=lst).values_list("customer__external_id", flat=True))
    assert members == {"c1", "c6", "existing"}


def test_progress_is_visible_while_it_runs(celery_worker, api, workspace, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 10)
    seen = []

    def watch(workspace_id, ids):  # runs in the worker after each chunk commits
        job = ImportJob.objects.for_workspace(workspace_id).latest("pk")
        seen.append((job.status, job.processed, job.total))

    hooks.connect_customers_changed(watch)
    try:
        rows = "".join(f"id{i},{i}\n" for i in range(45))
        data = finished(api, upload(api, f"external_id,n\n{rows}".encode()).json()["import_id"])
    finally:
        hooks.disconnect_customers_changed(watch)
    assert data["status"] == "done" and data["created"] == 45
    assert [s for s, _, _ in seen] == ["running"] * 5
    assert [p for _, p, _ in seen] == [10, 20, 30, 40, 45]
    assert all(total == 45 for _, _, total in seen)


def test_a_file_without_an_id_column_fails_with_a_reason(celery_worker, api):
    data = finished(api, upload(api, b"email,plan\na@b.co,pro\n").json()["import_id"])
    assert data["status"] == "failed" and "external_id" in data["message"]


def test_a_repeated_id_in_one_file_updates_one_customer(celery_worker, api, workspace):
    data = finished(api, upload(api, b"external_id,plan,age\nx,free,1\nx,pro,\n").json()["import_id"])
    assert data["status"] == "done" and data["created"] == 1
    assert Customer.objects.for_workspace(workspace).get(external_id="x").attributes == {"plan": "pro", "age": 1}


@pytest.mark.django_db
def test_too_large_is_413(api, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(api, b"external_id,n\n" + b"abcdefghij,1\n" * 20)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.django_db
def test_list_of_another_workspace_or_no_file_is_400(api, other_workspace):
    theirs = CustomerListFactory(workspace=other_workspace)
    response = upload(api, b"external_id\nx\n", f"?list_id={theirs.pk}")
    assert response.status_code == 400 and "list_id" in response.json()["error"]["details"]
    assert api.put("/api/v1/customers/import", {}, format="multipart").status_code == 400
    assert not ImportJob.objects.unscoped().exists()


@pytest.mark.django_db
def test_viewer_cannot_import(viewer_api):
    assert upload(viewer_api, b"external_id\nx\n").status_code == 403


def test_a_file_that_is_not_utf8_is_refused_whole_with_its_line(celery_worker, api, workspace, monkeypatch):
    """Bad bytes far into the file (past several chunks and upload pieces): the job fails naming
    their line, and none of the good lines before them is imported."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 100)
    content = b"external_id,plan\n" + b"".join(b"k%d,free\n" % i for i in range(3000)) + b"bad,\xff\xfe\n"
    data = finished(api, upload(api, content).json()["import_id"])
    assert data["status"] == "failed" and "not UTF-8 at line 3002" in data["message"], data
    assert data["processed"] == data["created"] == 0
    assert not Customer.objects.for_workspace(workspace).exists()
    assert not ImportChunk.objects.for_workspace(workspace).filter(job_id=data["id"]).exists()  # the upload is gone too


def test_tabs_backslashes_quotes_and_nul_survive_the_copy(celery_worker, api, workspace):
    """Rows travel to PostgreSQL in COPY's text format: its special characters are escaped, and a
    NUL (which PostgreSQL text cannot hold) refuses its own line only."""
    content = (
        b'external_id,email,note,path\n'
        b'c\\1,,"tab\there","C:\\dir\\n"\n'
        b'c2,,"say ""hi""\r\nbye",\\\n'
        b'c3,,"nul\x00",x\n'
        b'c4,,ok,\n'
    )
    data = finished(api, upload(api, content).json()["import_id"])
    assert data["status"] == "done", data
    assert (data["created"], data["failed"]) == (3, 1)
    assert data["errors"] == [{"line": 5, "error": "a cell contains a NUL character"}]
    customers = {c.external_id: c.attributes for c in Customer.objects.for_workspace(workspace)}
    assert customers == {
        "c\\1": {"note": "tab\there", "path": "C:\\dir\\n"},
        "c2": {"note": 'say "hi"\r\nbye', "path": "\\"},
        "c4": {"note": "ok"},
    }


def test_new_customers_then_existing_ones_in_later_chunks(celery_worker, api, workspace, monkeypatch):
    """New customers take the plain INSERT path (list membership included); a later chunk that
    meets existing ones rolls back to its savepoint and merges them instead."""
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    CustomerFactory(workspace=workspace, external_id="old", attributes={"plan": "legacy", "seats": 2})
    lst = CustomerListFactory(workspace=workspace)
    rows = "".join(f"n{i},free\n" for i in range(5)) + "old,pro\nn6,team\n"
    data = finished(api, upload(api, f"external_id,plan\n{rows}".encode(), f"?list_id={lst.pk}").json()["import_id"])
    assert (data["status"], data["created"], data["updated"], data["processed"]) == ("done", 6, 1, 7), data
    customers = {c.external_id: c.attributes for c in Customer.objects.for_workspace(workspace)}
    assert customers["old"] == {"plan": "pro", "seats": 2}
    assert customers["n6"] == {"plan": "team"} and customers["n0"] == {"plan": "free"}
    members = set(ListMember.objects.for_workspace(workspace).filter(customer_list=lst).values_list("customer__external_id", flat=True))
    assert members == {*(f"n{i}" for i in range(5)), "old", "n6"}


def test_a_redelivered_finished_job_removes_the_upload_it_left(workspace):
    """A worker stopped after the job ended but before removing the upload (acks_late redelivers
    the task): the redelivery removes it and imports nothing again."""
    job = ImportJob.objects.for_workspace(workspace).create(
        workspace=workspace, file_size=15, status=ImportJob.Status.DONE, created=7
    )
    ImportChunk.objects.for_workspace(workspace).create(workspace=workspace, job=job, seq=0, data=b"external_id\nz1\n")
    importer.customers_import(job_id=job.pk)
    assert not ImportChunk.objects.for_workspace(workspace).filter(job=job).exists()
    job.refresh_from_db()
    assert (job.status, job.created) == ("done", 7)
    assert not Customer.objects.for_workspace(workspace).exists()


def test_import_jobs_are_numbered_per_workspace(api, other_api, workspace, other_workspace):
    for _ in range(3):  # another workspace's imports come first and take the low ids
        ImportJob.objects.unscoped().create(workspace=other_workspace)
    mine = [ImportJob.objects.unscoped().create(workspace=workspace) for _ in range(2)]
    listed = api.get("/api/v1/imports").json()["results"]
    assert sorted((j["id"], j["number"]) for j in listed) == [(mine[0].pk, 1), (mine[1].pk, 2)]
    assert api.get(f"/api/v1/imports/{mine[1].pk}").json()["number"] == 2
    assert [j["number"] for j in other_api.get("/api/v1/imports").json()["results"]] in ([3, 2, 1], [1, 2, 3])
