"""Segment-compatible tracking API (/v1/identify, track, page, screen, group, alias, batch): the
Segment and RudderStack SDKs send here unchanged. Mapping rules live in services.py; ingest goes
through audiences.services, so a tracked event behaves exactly like POST /api/v1/events."""
