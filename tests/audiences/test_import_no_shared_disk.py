"""Web and workers share nothing but PostgreSQL and Redis: an uploaded CSV waits in the database,
and a `celery worker` started in another working directory, after the web's upload folder is
gone, imports it whole."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

from audiences.models import Customer, ImportChunk, ImportJob
from audiences.services import IMPORT_CHUNK_BYTES
from devtools.services import die_with_parent
from tests.conftest import wait_for

ROOT = Path(django_settings.BASE_DIR)


def _csv(min_bytes: int) -> tuple[bytes, int]:
    """A CSV over `min_bytes` (so over several stored pieces) whose every fifth row has a quoted
    note spanning two lines, so some row is cut by a piece boundary wherever it falls."""
    out, i = io.BytesIO(), 0
    out.write(b"external_id,email,plan,note\n")
    while out.tell() < min_bytes:
        note = b'"line one\nline two, %d"' % i if i % 5 == 0 else b"plain %d" % i
        out.write(b"w-%07d,w%07d@example.com,%s,%s\n" % (i, i, (b"free", b"pro")[i % 2], note))
        i += 1
    return out.getvalue(), i


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _start_worker(workdir: Path) -> subprocess.Popen:
    """A real `celery worker` on the imports queue, as on another machine: its working directory
    an empty folder, its own temporary folder and home, the code on PYTHONPATH only."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "TMPDIR": str(workdir / "tmp"),
        "HOME": str(workdir),
        "LOG_LEVEL": "WARNING",
    }
    (workdir / "tmp").mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "imports", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=die_with_parent(signal.SIGKILL),
    )


def test_a_worker_in_another_directory_imports_an_upload_the_web_kept_no_file_of(
    api, workspace, transactional_db, settings, tmp_path
):
    web_tmp = tmp_path / "web-tmp"
    web_tmp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(web_tmp)  # Django spools the upload here...
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # ...as it does any upload over this size
    project_files = _files_under(ROOT / ".data")
    content, rows = _csv(3 * IMPORT_CHUNK_BYTES + 12_345)
    f = io.BytesIO(content)
    f.name = "customers.csv"
    response = api.put("/api/v1/customers/import", {"file": f}, format="multipart")
    assert response.status_code == 202, response.content[:300]
    job_id = response.json()["import_id"]

    # The web kept no file of it (neither its temporary folder nor the project's), and the
    # folder it spooled into goes away before any worker starts: only the database has it.
    assert _files_under(web_tmp) == set()
    assert _files_under(ROOT / ".data") - project_files == set()
    shutil.rmtree(web_tmp)
    assert ImportChunk.objects.for_workspace(workspace).filter(job_id=job_id).count() == 4
    assert ImportJob.objects.for_workspace(workspace).get(pk=job_id).status == "queued"

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    worker = _start_worker(workdir)
    try:
        def ended():
            job = ImportJob.objects.for_workspace(workspace).get(pk=job_id)
            return job if job.status in ("done", "failed") else None

        job = wait_for(ended, timeout=120, interval=0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            output = worker.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            output = worker.communicate()[0].decode(errors="replace")
    assert job.status == "done", (job.message, output[-3000:])
    assert (job.created, job.failed, job.processed, job.total) == (rows, 0, rows, rows)
    customers = Customer.objects.for_workspace(workspace)
    assert customers.count() == rows
    assert customers.get(external_id="w-0000005").attributes == {"plan": "pro", "note": "line one\nline two, 5"}
    assert customers.get(external_id=f"w-{rows - 1:07d}").email == f"w{rows - 1:07d}@example.com"
    # The upload (personal data) left the database when the job ended.
    assert not ImportChunk.objects.for_workspace(workspace).filter(job_id=job_id).exists()
