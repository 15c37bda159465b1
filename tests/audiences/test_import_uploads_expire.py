"""Uploads do not stay in PostgreSQL forever: an import never started within 24 hours of its upload
(or stalled that long) fails with a message saying why, and the hourly sweep deletes the uploads
of ended imports in bounded batches, leaving the uploads of imports still to run alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audiences import services
from audiences.importer import ENDED_GRACE, EXPIRED_NEVER_STARTED, uploads_expire
from audiences.models import ImportChunk, ImportJob
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(services, "IMPORT_CHUNK_BYTES", 64)  # a few lines make several chunks


def upload(workspace, *, age: timedelta, **state) -> ImportJob:
    """An uploaded CSV of five stored pieces whose job was made `age` ago, with `state` set."""
    lines = b"".join(b"c-%03d,c%03d@example.com\n" % (i, i) for i in range(12))
    job = services.import_create(
        workspace=workspace,
        upload=SimpleUploadedFile("people.csv", b"external_id,email\n" + lines),
        customer_list=None,
    )
    ImportJob.objects.unscoped().filter(pk=job.pk).update(
        created_at=timezone.now() - age, **state
    )
    return ImportJob.objects.unscoped().get(pk=job.pk)


def chunks(job: ImportJob) -> int:
    return ImportChunk.objects.unscoped().filter(job=job).count()


def test_abandoned_and_ended_uploads_go_and_waiting_ones_stay(api, workspace, small_pieces):
    now = timezone.now()
    abandoned = upload(workspace, age=timedelta(hours=25))  # queued, its task never came
    fresh = upload(workspace, age=timedelta(hours=1))  # queued, about to run
    running = upload(
        workspace, age=timedelta(hours=2), status="running", started_at=now - timedelta(hours=2)
    )
    stalled = upload(
        workspace, age=timedelta(days=2), status="running", started_at=now - timedelta(hours=30)
    )
    left_behind = upload(  # done, but its worker stopped before removing the upload
        workspace, age=timedelta(hours=3), status="done", finished_at=now - timedelta(hours=2)
    )
    per_upload = chunks(abandoned)
    assert per_upload == 5

    first = uploads_expire(now=now, batch_size=2)
    assert first["expired"] == 2
    assert (first["chunks_deleted"], first["batches"]) == (per_upload, 3)  # batches of 2, 2 and 1
    assert chunks(left_behind) == 0
    shown = api.get(f"/api/v1/imports/{abandoned.pk}").json()
    assert shown["status"] == "failed" and shown["message"] == EXPIRED_NEVER_STARTED
    stalled.refresh_from_db()
    assert stalled.status == "failed" and "did not finish" in stalled.message
    # Just expired: kept a moment for a worker that read the job as it was expired.
    assert chunks(abandoned) == chunks(stalled) == per_upload

    later = uploads_expire(now=now + ENDED_GRACE + timedelta(minutes=1), batch_size=2)
    assert (later["expired"], later["chunks_deleted"]) == (0, 2 * per_upload)
    assert chunks(abandoned) == chunks(stalled) == 0
    # Imports still to run or running keep their uploads and their state.
    assert chunks(fresh) == chunks(running) == per_upload
    assert [ImportJob.objects.unscoped().get(pk=j.pk).status for j in (fresh, running)] == [
        "queued",
        "running",
    ]
    assert uploads_expire(now=now + timedelta(hours=2)) == {
        "expired": 0,
        "chunks_deleted": 0,
        "batches": 0,
    }


def test_the_sweep_runs_hourly_on_the_default_queue():
    (entry,) = [
        e for e in celery_app.conf.beat_schedule.values() if e["task"] == "audiences.tasks.uploads_expire"
    ]
    assert entry["schedule"].minute == {20} and len(entry["schedule"].hour) == 24
    assert celery_app.amqp.router.route({}, entry["task"])["queue"].name == "default"
    assert entry["task"] in celery_app.tasks
