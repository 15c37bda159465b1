"""CSV imports that go wrong: files in other encodings, a file at the 100 MB limit (and over it),
100,000 columns, and cells that a spreadsheet would run as formulas. Never a 500; a clear error or
per-line errors; the importing process's memory does not grow with the file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile

import pytest
from django.conf import settings as django_settings
from django.db import connection

from audiences.importer import MAX_COLUMNS
from audiences.models import Customer, ImportJob
from audiences.services import import_max_bytes
from tests.conftest import wait_for


def _upload(api, content: bytes):
    f = io.BytesIO(content)
    f.name = "customers.csv"
    response = api.put("/api/v1/customers/import", {"file": f}, format="multipart")
    assert response.status_code == 202, (response.status_code, response.content[:300])
    return response.json()["import_id"]


def _finished(api, import_id: int, timeout: float = 60) -> dict:
    def check():
        data = api.get(f"/api/v1/imports/{import_id}").json()
        return data if data["status"] in ("done", "failed") else None

    return wait_for(check, timeout=timeout)


def _stored(workspace) -> dict[str, dict]:
    return {c.external_id: c.attributes for c in Customer.objects.for_workspace(workspace)}


# ---- Encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, where",
    [
        ("external_id,name\nc1,Ana\nc2,José\n".encode("latin-1"), "latin-1 bytes"),
        (b"external_id,name\nc1,Ana\nc2,Jos" + "é".encode()[:1], "truncated UTF-8"),
        ("external_id,name\nc1,Ana\nc2,José\n".encode("utf-16"), "UTF-16 with BOM"),
    ],
    ids=["latin-1", "truncated-utf-8", "utf-16-bom"],
)
def test_a_file_not_in_utf8_fails_with_a_clear_message(celery_worker, api, workspace, content, where):
    data = _finished(api, _upload(api, content))
    assert data["status"] == "failed", (where, data)
    assert "UTF-8" in data["message"], (where, data["message"])
    # A file in another encoding is refused whole: its ASCII lines would import, the others be
    # garbled, and a half-imported file is worse than a clear refusal.
    assert _stored(workspace) == {}


def test_bad_bytes_deep_in_a_big_file_refuse_it_whole_and_say_where(celery_worker, api, workspace):
    good = 60_000  # past the first 50,000-row chunk and many upload pieces
    lines = [b"external_id,plan\n", *(b"c%d,pro\n" % i for i in range(good)), b"bad,Jos\xe9\n", b"after,pro\n"]
    data = _finished(api, _upload(api, b"".join(lines)), timeout=120)
    assert data["status"] == "failed" and f"not UTF-8 at line {good + 2}" in data["message"], data
    assert data["created"] == data["processed"] == 0 and _stored(workspace) == {}


# ---- Size ---------------------------------------------------------------------------------
BOUNDARY = "waymark-robustness"


def _multipart_file(csv_bytes: int) -> tuple[str, int]:
    """Writes a whole multipart request body with a CSV of about `csv_bytes` to a temp file,
    streaming (never in memory); returns (path, body size)."""
    fd, path = tempfile.mkstemp(suffix=".multipart")
    with os.fdopen(fd, "wb", buffering=1 << 20) as out:
        out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                  "Content-Type: text/csv\r\n\r\n".encode())
        out.write(b"external_id,email,plan,score,signup,note\n")
        written, i = 0, 0
        pad = b"x" * 1900  # wide rows: 50,000 of them (one chunk by count) are the whole file
        while written < csv_bytes - 300:
            row = b"big-%08d,u%08d@example.com,pro,%d,2024-03-01,%s\n" % (i, i, i % 1000, pad)
            out.write(row)
            written += len(row)
            i += 1
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path, os.path.getsize(path)


def _put_streamed(api, path: str, size: int):
    """PUT /customers/import with the body read from a file, as a server would stream it."""
    body = open(path, "rb")  # noqa: SIM115 (closed by the caller through .close())
    response = api.generic("PUT", "/api/v1/customers/import", b"",
                           content_type=f"multipart/form-data; boundary={BOUNDARY}",
                           **{"wsgi.input": body, "CONTENT_LENGTH": str(size)})
    return response, body


def _run_import_in_a_child(job_id: int) -> tuple[int, int]:
    """Runs the import task's body in a fresh process, as a worker would; returns its peak RSS
    (KiB, /proc VmHWM) once Django is loaded and at the end. Two cores are shared, so memory,
    not time, is what this asserts."""
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                           f"{db['PORT'] or 5432}/{db['NAME']}"}
    code = (
        "import re, django\n"
        "def hwm(): return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "django.setup()\n"
        "from django.db import connection; connection.ensure_connection()\n"
        "from audiences.importer import customers_import\n"
        "before = hwm()\n"
        f"customers_import(job_id={job_id})\n"
        "print(before, hwm())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    before, peak = map(int, done.stdout.split()[-2:])
    return before, peak


def test_a_file_over_the_limit_is_refused_before_it_is_read(api, workspace, transactional_db, settings):
    settings.IMPORT_MAX_BYTES = 100 * 1024 * 1024
    path, size = _multipart_file(import_max_bytes() + 1024 * 1024)
    try:
        response, body = _put_streamed(api, path, size)
        read = body.tell()
        body.close()
    finally:
        os.remove(path)
    assert response.status_code == 413, response.content[:300]
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "100 MB" in response.json()["error"]["message"]
    assert read < 1024 * 1024, f"read {read} bytes of a body it refused"
    assert not ImportJob.objects.for_workspace(workspace).exists()


def test_a_100_mb_file_imports_with_bounded_memory(api, workspace, transactional_db):
    path, size = _multipart_file(import_max_bytes() - 64 * 1024)
    try:
        response, body = _put_streamed(api, path, size)
        body.close()
    finally:
        os.remove(path)
    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["import_id"]
    before, peak = _run_import_in_a_child(job_id)
    job = ImportJob.objects.for_workspace(workspace).get(pk=job_id)
    assert job.status == "done", job.message
    assert job.failed == 0 and job.created == job.processed > 45_000
    assert Customer.objects.for_workspace(workspace).count() == job.created
    growth_mib = (peak - before) / 1024
    print(f"\n100 MB import: {job.created} customers; the importing process's peak RSS {before / 1024:.0f} MiB "
          f"after setup, {peak / 1024:.0f} MiB after the import (+{growth_mib:.0f} MiB)")
    # Streaming: the importer holds a few chunks (one being parsed, up to STORERS being stored),
    # never the file: growth stays below the file's own size, where a list of its rows would be
    # ~1 GiB of Python objects.
    file_mib = size / 2**20
    assert growth_mib < file_mib, f"the import process grew by {growth_mib:.0f} MiB for a {file_mib:.0f} MiB file"


# ---- Width --------------------------------------------------------------------------------
def test_100000_columns_fail_naming_the_limit_and_store_nothing(celery_worker, api, workspace):
    header = "external_id," + ",".join(f"a{i}" for i in range(99_999))
    row = "c1," + ",".join("1" for _ in range(99_999))
    data = _finished(api, _upload(api, f"{header}\n{row}\n".encode()))
    assert data["status"] == "failed", data
    assert f"{MAX_COLUMNS:,}" in data["message"] and "100,000" in data["message"], data["message"]
    assert _stored(workspace) == {}


def test_columns_at_the_limit_import(celery_worker, api, workspace):
    names = [f"a{i}" for i in range(MAX_COLUMNS - 1)]
    data = _finished(api, _upload(api, ("external_id," + ",".join(names) + "\nc1," + ",".join("v" * len(names)) + "\n")
                                  .encode()))
    assert data["status"] == "done" and data["created"] == 1, data
    assert len(_stored(workspace)["c1"]) == MAX_COLUMNS - 1


# ---- Formula cells ------------------------------------------------------------------------
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=2+2"]


def test_formula_cells_are_stored_as_text(celery_worker, api, workspace):
    """Stored as the text they are (trimmed, like every cell; the CSV exports defuse them, see
    tests/security/test_csv_exports.py); none is evaluated, typed or refused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["external_id", "payload"])
    for i, formula in enumerate(FORMULAS):
        writer.writerow([f"f{i}", formula])
    writer.writerow(["=HYPERLINK(\"http://evil.example\")", "id-is-a-formula"])
    data = _finished(api, _upload(api, out.getvalue().encode()))
    assert data["status"] == "done" and data["failed"] == 0, data
    stored = _stored(workspace)
    assert {k: v["payload"] for k, v in stored.items() if k.startswith("f")} == {
        f"f{i}": formula.strip() for i, formula in enumerate(FORMULAS)
    }
    assert stored['=HYPERLINK("http://evil.example")'] == {"payload": "id-is-a-formula"}
    # Read back through the API exactly as stored.
    listed = api.get("/api/v1/customers").json()["results"]
    assert {c["external_id"] for c in listed} >= {"f0", '=HYPERLINK("http://evil.example")'}
