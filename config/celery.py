"""The Celery app: queues, routing, and every periodic task of Waymark in one place."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_prerun
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("waymark")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Celery's Django fixup closes the database connection before and after every task unless
# DB_REUSE_MAX is set, so every engine batch paid a new PostgreSQL backend and re-planned its
# prepared statements. Keep it for up to 1,000 tasks; before each task, Django's own rules (as
# before a web request) close one that failed or outlived CONN_MAX_AGE, and a health check
# replaces one PostgreSQL dropped (a restart), so no batch starts on a dead connection.
app.conf.CELERY_DB_REUSE_MAX = 1000


@task_prerun.connect
def _database_connections_fit_for_task(**kwargs) -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
        conn.close_if_health_check_failed()


# Six queues (ARCHITECTURE.md): the engine advances journeys, messages sends, imports loads CSV
# files, default takes the rest. Routing is by task name so a task's home says its queue.
# `timers` carries only the timer pump's wake batches (journeys.timers): a worker takes from its
# queues in turn, so waits due now are not queued behind a 100k-enrollment backlog on `engine`.
# `outbound` carries webhook calls; it and `messages` (provider sends) are served by their own
# pool (Procfile `outbound`), so a slow target holds an outbound thread, never the engine's, and
# each workspace may hold only a few of those at once (channels_app.outbound_slots).
app.conf.task_queues = [
    Queue("timers"),
    Queue("engine"),
    Queue("messages"),
    Queue("outbound"),
    Queue("imports"),
    Queue("default"),
]
app.conf.task_routes = {
    "journeys.tasks.steps_retention_task": {"queue": "default"},  # an hour-long sweep holds no engine slot
    "journeys.tasks.*": {"queue": "engine"},
    "channels_app.tasks.webhook_call_task": {"queue": "outbound"},
    "channels_app.tasks.dealer_results_poll_task": {"queue": "outbound"},
    "webhooks_out.tasks.*": {"queue": "outbound"},  # event webhooks: fan-out and deliveries
    "channels_app.tasks.*": {"queue": "messages"},
    "audiences.tasks.import_*": {"queue": "imports"},
}

# Every periodic task, declared here and nowhere else. Later issues add their rows.
app.conf.beat_schedule = {}
# Analytics rollups: fold new step/delivery events, recount live positions (analytics.services).
# Every 2 s keeps the canvas fresh; `expires` drops runs a busy worker could not start in time.
app.conf.beat_schedule["analytics-rollups-refresh"] = {
    "task": "analytics.tasks.rollups_refresh_task",
    "schedule": 2.0,
    "options": {"expires": 2.0},
}
# Journey entries (journeys.triggers): recurring segment entries every 15 minutes; date-attribute
# entries (birthdays) once a day, each parked until its local time within the next 26 hours.
app.conf.beat_schedule["journeys-segment-entries"] = {
    "task": "journeys.tasks.segment_entries_task",
    "schedule": 15 * 60.0,
}
app.conf.beat_schedule["journeys-date-attribute-entries"] = {
    "task": "journeys.tasks.date_attribute_entries_task",
    "schedule": crontab(minute=0, hour=0),
}
# Event retention (audiences.retention): each workspace's events past event_retention_days, daily.
app.conf.beat_schedule["audiences-events-retention"] = {
    "task": "audiences.tasks.events_retention",
    "schedule": crontab(minute=30, hour=3),
}
# Uploads left in PostgreSQL (audiences.importer.uploads_expire): imports not started within 24
# hours fail, and the uploads of ended imports are deleted in batches; hourly.
app.conf.beat_schedule["audiences-uploads-expire"] = {
    "task": "audiences.tasks.uploads_expire",
    "schedule": crontab(minute=20),
}
# Step-event retention (journeys.retention): past each workspace's step_retention_days, daily.
app.conf.beat_schedule["journeys-steps-retention"] = {
    "task": "journeys.tasks.steps_retention_task",
    "schedule": crontab(minute=45, hour=3),
}
# Month partitions of events and step events (workspaces.partitions): the current month and the
# next two exist; every six hours, so a missed run or a stopped beat loses nothing: rows
# of a month without its partition land in the default partition and move when it is created.
app.conf.beat_schedule["workspaces-partitions-ensure"] = {
    "task": "workspaces.tasks.partitions_ensure",
    "schedule": crontab(minute=15, hour="*/6"),
}
# Event webhooks (webhooks_out.services): fan out new step and delivery events, queue due retries.
app.conf.beat_schedule["webhooks-out-pump"] = {
    "task": "webhooks_out.tasks.event_webhooks_pump_task",
    "schedule": 2.0,
    "options": {"expires": 2.0},
}

# Kakao dealers' delivery results (channels_app.services.dealer_results): they are asked, not told.
app.conf.beat_schedule["channels-dealer-results-poll"] = {
    "task": "channels_app.tasks.dealer_results_poll_task",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}

# Split experiments (journeys.experiments): one look a minute at every running experiment.
app.conf.beat_schedule["journeys-experiments-decide"] = {
    "task": "journeys.tasks.experiments_decide_task",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}

app.autodiscover_tasks()
