"""CSV customer import: stream the file through csv.reader, COPY good lines (COPY text format)
into a staging table, then one set-based statement per chunk: a plain INSERT while every customer
is new, else INSERT … ON CONFLICT merging attributes. Bad lines are reported with the file's own
line number (the header is line 1) and the good ones are kept."""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import chain, islice, repeat

import psycopg
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from . import hooks
from .models import ImportChunk, ImportJob
from .normalize import (
    EMAIL_RE,
    MAX_EXTERNAL_ID,
    FieldError,
    locale_clean,
    phone_clean,
    timezone_clean,
)
from .phones import quick_e164
from .services import MAX_ATTRIBUTES_BYTES, database_error_message
from .topics import CSV_COLUMN_PREFIX, topic_cells_clean, topic_columns, topic_keys

logger = logging.getLogger(__name__)

# The database went away (Django's wrappers, or psycopg's own from the raw cursors the storing
# threads use): the import is retried, not failed.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

ID_COLUMNS = ("external_id", "customerid", "customer_id")  # compared lower-cased
KNOWN_COLUMNS = ("email", "phone", "timezone", "locale", "tags")
CHUNK_ROWS = 50_000  # one COPY + upsert + progress update per chunk
# ...or fewer when the rows are wide: up to four chunks are in memory at once (parsed, queued,
# two stored), so bytes, not rows, bound the worker's memory (tests/audiences/test_import_robustness.py).
CHUNK_CHARS = 8 << 20
STORERS = 2  # chunks stored at once, each by its own connection (see _run)
MAX_ERRORS_KEPT = 1000  # `failed` counts them all; the list keeps the first ones
HOOK_SLICE = 10_000  # customers_changed is fired in slices of at most this many ids
ANALYZE_AFTER = 10_000  # an import creating more customers than this refreshes table statistics
ATTRIBUTE_MEMO = 4096  # typed cells remembered per attribute column (see _attributes_json)
# The column path (_Fragments) shares out this many among the attribute columns, at least
# ATTRIBUTE_MEMO each, and remembers only cells up to MEMO_CELL_CHARS long: ~200 bytes an entry,
# ~13 MiB at most. A numeric column with 10,000 distinct values (prices, scores) then misses
# nothing; a miss costs ~1 µs, a hit ~0.05 µs.
ATTRIBUTE_MEMO_TOTAL = 65_536
MEMO_CELL_CHARS = 64
READ_BUFFER = 1 << 20
READ_STEP = 500  # rows parsed as one batch (see _chunks)
BATCH_CELLS = 50_000  # ...or fewer when they are wide: 1,000 columns → 50 rows a batch
BATCH_CHARS = 256 << 10  # ...and about this much text a batch
# Every column but the known ones is an attribute, and a customer's attributes are at most 64 KiB
# of JSON (services.MAX_ATTRIBUTES_BYTES): a wider file is a mistake or an attack, refused whole.
MAX_COLUMNS = 1000

# Attribute cells become typed JSON (see _attributes_json): integers and decimals are JSON numbers,
# true/false booleans, anything else a string (ISO dates included: JSON has no date type, and the
# condition language compares ISO strings as datetimes); an empty cell sets nothing. Typing in
# Python costs ~0.4 µs a cell; the same CASE/regex typing in SQL measured ~5 µs a cell.
INTEGER_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
DECIMAL_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,29})\.[0-9]{1,30}")
BOOLEANS = {"true": "true", "TRUE": "true", "True": "true", "false": "false", "FALSE": "false", "False": "false"}


def _open_text(file) -> io.TextIOWrapper:
    """UTF-8 text with or without a byte-order mark; csv needs newline=''."""
    return io.TextIOWrapper(file, encoding="utf-8-sig", errors="strict", newline="")


def _id_column(header: list[str]) -> int:
    names = [h.strip().lower() for h in header]
    for wanted in ID_COLUMNS:
        if wanted in names:
            return names.index(wanted)
    raise FieldError("The file needs an external_id (or customerId) column.")


def csv_external_ids(file, *, batch_size: int) -> Iterator[list[str]]:
    """The ids of a CSV's external_id/customerId column, in batches (for list membership)."""
    reader = csv.reader(_open_text(file))
    try:
        header = next(reader)
    except StopIteration:
        raise FieldError("The file is empty.") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FieldError(f"The file cannot be read as UTF-8 CSV: {exc}") from exc
    column = _id_column(header)
    batch: list[str] = []
    try:
        for row in reader:
            if len(row) > column and row[column].strip():
                if "\x00" in row[column]:  # no customer id can hold it: PostgreSQL text cannot
                    raise FieldError(f"Line {reader.line_num}: the external_id contains a NUL character.")
                batch.append(row[column].strip()[:MAX_EXTERNAL_ID])
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FieldError(f"Line {reader.line_num} cannot be read: {exc}") from exc
    if batch:
        yield batch


@dataclass
class _Layout:
    """Where each staged column comes from in the file."""

    width: int
    id_index: int
    known: dict[str, int]  # email/phone/timezone/locale/tags → file column
    attributes: list[tuple[str, int]]  # attribute name → file column
    # topic:<key> columns (staged among the attributes, moved to subscriptions by _store_sql):
    # file column → topic key
    topics: dict[int, str] = field(default_factory=dict)
    # The workspace's default country: phones without "+" are its national numbers ("" requires E.164).
    phone_region: str = ""

    def cleaners(self) -> dict[str, Callable[[str], str]]:
        """The known columns' cleaners other than email's (checked by its pattern inline)."""
        return {"phone": partial(phone_clean, region=self.phone_region), "timezone": timezone_clean,
                "locale": locale_clean}


def _layout(header: list[str]) -> _Layout:
    if len(header) > MAX_COLUMNS:
        raise FieldError(f"The file has {len(header):,} columns; the limit is {MAX_COLUMNS:,}.")
    names = [h.strip() for h in header]
    id_index = _id_column(names)
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        duplicate = next(n for n in lowered if lowered.count(n) > 1)
        raise FieldError(f"The header names column {duplicate!r} twice.")
    known = {name: lowered.index(name) for name in KNOWN_COLUMNS if name in lowered}
    taken = {id_index, *known.values()}
    topics = topic_columns(names)
    attributes = [
        (f"{CSV_COLUMN_PREFIX}{topics[i]}" if i in topics else n, i)
        for i, n in enumerate(names)
        if i not in taken and n
    ]
    return _Layout(width=len(header), id_index=id_index, known=known, attributes=attributes, topics=topics)


def _store_sql(stage: str, layout: _Layout, *, with_list: bool, upsert: bool) -> str:
    """The statement storing a staged chunk: a plain INSERT when `upsert` is false (fails on an
    existing external_id), else INSERT … ON CONFLICT merging into the existing customers. Answers
    one row: the ids stored (an int8 array, one value to fetch) and how many were created."""

    def known(name: str) -> str:  # staged trimmed, '' when empty (_staged_cells)
        return f"s.{name}" if name in layout.known else "''"

    tags = "s.tags" if "tags" in layout.known else "'{}'::varchar[]"  # staged as an array (_tags_array)
    list_insert = (
        """, listed AS (
            INSERT INTO audiences_listmember (workspace_id, customer_list_id, customer_id, added_at)
            SELECT %(ws)s, %(list)s, id, %(now)s FROM up
            ON CONFLICT (customer_list_id, customer_id) DO NOTHING
        )"""
        if with_list
        else ""
    )
    attributes, subscriptions = "s.attributes", "'{}'::jsonb"
    if layout.topics:  # topic:<key> cells (true/false) move from the staged attributes
        names = ", ".join(f"'{CSV_COLUMN_PREFIX}{key}'" for key in layout.topics.values())  # keys: [a-z0-9_.-]
        attributes = f"s.attributes - ARRAY[{names}]::text[]"
        subscriptions = (
            f"(SELECT COALESCE(jsonb_object_agg(substr(a.key, {len(CSV_COLUMN_PREFIX) + 1}), a.value), '{{}}') "
            f"FROM jsonb_each(s.attributes) a WHERE a.key IN ({names}))"
        )
    merge_subscriptions = "subscriptions = c.subscriptions || EXCLUDED.subscriptions," if layout.topics else ""
    on_conflict = f"""
        ON CONFLICT (workspace_id, external_id) DO UPDATE SET
            {merge_subscriptions}
            email = CASE WHEN EXCLUDED.email <> '' THEN EXCLUDED.email ELSE c.email END,
            phone = CASE WHEN EXCLUDED.phone <> '' THEN EXCLUDED.phone ELSE c.phone END,
            timezone = CASE WHEN EXCLUDED.timezone <> '' THEN EXCLUDED.timezone ELSE c.timezone END,
            locale = CASE WHEN EXCLUDED.locale <> '' THEN EXCLUDED.locale ELSE c.locale END,
            attributes = c.attributes || EXCLUDED.attributes,
            tags = CASE WHEN cardinality(EXCLUDED.tags) > 0 THEN EXCLUDED.tags ELSE c.tags END,
            updated_at = EXCLUDED.updated_at
        RETURNING c.id, (c.xmax = 0) AS inserted""" if upsert else "RETURNING c.id, TRUE AS inserted"
    return f"""
    WITH up AS (
        INSERT INTO audiences_customer AS c (workspace_id, external_id, email, phone, timezone, locale,
            attributes, tags, push_tokens, unsubscribed, subscriptions, created_at, updated_at)
        SELECT %(ws)s, s.external_id, {known("email")}, {known("phone")}, {known("timezone")}, {known("locale")},
            {attributes}, {tags}, '[]'::jsonb, '{{}}', {subscriptions}, %(now)s, %(now)s
        FROM {stage} s
        {on_conflict}
    ){list_insert}
    SELECT COALESCE(array_agg(id), '{{}}'), count(*) FILTER (WHERE inserted) FROM up
    """


class _Job:
    """The import's progress, written to its ImportJob row after every chunk."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.errors: list[dict] = []

    def error(self, line: int, message: str) -> None:
        self.job.failed += 1
        self.job.processed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"line": line, "error": message})

    def save(self, **extra) -> None:
        self.job.errors = self.errors
        for key, value in extra.items():
            setattr(self.job, key, value)
        ImportJob.objects.for_workspace(self.job.workspace_id).filter(pk=self.job.pk).update(
            total=self.job.total,
            processed=self.job.processed,
            created=self.job.created,
            updated=self.job.updated,
            failed=self.job.failed,
            errors=self.errors,
            **extra,
        )


class _Upload(io.RawIOBase):
    """The uploaded file, read back from its ImportChunk rows one piece at a time through a
    connection of its own: the parsing thread reads it while the storing threads hold theirs."""

    def __init__(self, job: ImportJob):
        self.job_id, self.seq, self.piece, self.at = job.pk, 0, b"", 0
        self.pg = psycopg.connect(**connection.get_connection_params(), autocommit=True)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.at >= len(self.piece):
            # Binary, through a server-side binding cursor: the bytes as stored, not hex text twice their size.
            with psycopg.Cursor(self.pg) as cur:
                row = cur.execute(
                    "SELECT data FROM audiences_importchunk WHERE job_id = %s AND seq = %s",
                    (self.job_id, self.seq),
                    binary=True,
                ).fetchone()
            if row is None:
                return 0
            self.piece, self.at, self.seq = bytes(row[0]), 0, self.seq + 1
        size = min(len(buffer), len(self.piece) - self.at)
        buffer[:size] = self.piece[self.at : self.at + size]
        self.at += size
        return size

    def close(self) -> None:
        if not self.closed:
            self.pg.close()
        super().close()


def _uploaded(job: ImportJob) -> bool:
    return ImportChunk.objects.for_workspace(job.workspace_id).filter(job_id=job.pk).exists()


def customers_import(*, job_id: int) -> None:
    """Runs one ImportJob to the end (the Celery task's body). A re-delivered job starts over:
    the upsert is idempotent, so the customers end the same."""
    job = ImportJob.objects.unscoped().filter(pk=job_id).first()
    if job is None:
        return
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        _remove(job)  # redelivered: the worker that ended the job died before removing the upload
        return
    progress = _Job(job)
    if not _uploaded(job):
        progress.save(status=ImportJob.Status.FAILED, message="The uploaded file is gone.", finished_at=timezone.now())
        return
    job.processed = job.created = job.updated = job.failed = 0  # `total` is the upload's line count
    progress.save(status=ImportJob.Status.RUNNING, started_at=timezone.now(), message="")
    try:
        with io.BufferedReader(_Upload(job), buffer_size=READ_BUFFER) as raw:
            _run(progress, raw)
    except FieldError as exc:
        _end(progress, status=ImportJob.Status.FAILED, message=str(exc))
        return
    except DATABASE_UNAVAILABLE:
        # PostgreSQL went away mid-import: the job cannot even record that. The upload stays and
        # the task runs the job again from its first line once the database is back (audiences.tasks;
        # the upsert is idempotent, so customers end the same).
        logger.warning("import %s interrupted: the database is unavailable; it will be retried", job.pk)
        raise
    except Exception as exc:
        logger.exception("import %s failed", job.pk)  # the raw error is for us; the user reads what it means
        _end(progress, status=ImportJob.Status.FAILED, message=database_error_message(exc))
        raise
    job.total = job.processed
    # Before the statistics below, which take seconds: a worker stopped during them (every bench
    # run's worker was) left the upload behind.
    _end(progress, status=ImportJob.Status.DONE)
    if job.created > ANALYZE_AFTER:
        # Fresh planner statistics now, not whenever autovacuum gets to it: with stale ones the
        # first lookups after a big import pick a whole-workspace scan (measured: 1.7 s vs 5 ms).
        # The vacuum marks the new pages all-visible, so resolving external ids (event ingest)
        # is index-only at once; it skips pages already marked, so it costs what was written.
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) audiences_customer")
            if job.customer_list_id:
                cur.execute("ANALYZE audiences_listmember")


def _end(progress: _Job, **fields) -> None:
    """The job's end and its upload's removal, in one transaction: whoever reads the job ended
    finds the upload gone."""
    with transaction.atomic():
        progress.save(finished_at=timezone.now(), **fields)
        _remove(progress.job)


def _remove(job: ImportJob) -> None:
    """The upload holds personal data: it goes once the job has ended (one DELETE: nothing points
    at a chunk, so Django loads none of them)."""
    ImportChunk.objects.for_workspace(job.workspace_id).filter(job_id=job.pk).delete()


# ---- Uploads left behind ---------------------------------------------------------------------
# An import starts seconds after its upload and ends within minutes; one still waiting after a day
# lost its task (a broker emptied, a worker that never served `imports`), and one still "running"
# after a day lost its worker for good (a database outage is retried for about an hour).
UPLOAD_KEPT_FOR = timedelta(hours=24)
# An ended job's upload is left this long first: a worker that read the job just before it was
# expired here may still mark it running (it then keeps its upload and removes it itself).
ENDED_GRACE = timedelta(minutes=10)
# Chunks per DELETE (one statement, its own transaction): IMPORT_CHUNK_BYTES each, so at most
# 64 MiB of rows per statement however many uploads were left.
EXPIRE_BATCH = 64
EXPIRED_NEVER_STARTED = (
    "The upload expired: this import did not start within 24 hours of it. Upload the file again."
)
EXPIRED_STALLED = "This import stopped and did not finish within 24 hours. Upload the file again."


def uploads_expire(*, now: datetime | None = None, batch_size: int = EXPIRE_BATCH) -> dict:
    """The periodic sweep (config/celery.py): jobs not started within UPLOAD_KEPT_FOR of their
    upload, or running for longer than that, end as failed with a message saying why; the
    uploads of ended jobs (those, and any a stopped worker left behind) are deleted in batches of
    `batch_size` chunks. Nothing else points at a chunk, so each batch is one plain DELETE."""
    now = now or timezone.now()
    cutoff = now - UPLOAD_KEPT_FOR
    jobs = ImportJob.objects.unscoped()
    expired = jobs.filter(status=ImportJob.Status.QUEUED, created_at__lt=cutoff).update(
        status=ImportJob.Status.FAILED, message=EXPIRED_NEVER_STARTED, finished_at=now
    ) + jobs.filter(status=ImportJob.Status.RUNNING, started_at__lt=cutoff).update(
        status=ImportJob.Status.FAILED, message=EXPIRED_STALLED, finished_at=now
    )
    ended = ImportChunk.objects.unscoped().filter(
        job__status__in=(ImportJob.Status.DONE, ImportJob.Status.FAILED),
        job__finished_at__lt=now - ENDED_GRACE,
    )
    deleted = batches = 0
    while ids := list(ended.values_list("pk", flat=True)[:batch_size]):
        deleted += ImportChunk.objects.unscoped().filter(pk__in=ids).delete()[0]
        batches += 1
    if expired or deleted:
        logger.info("imports: %s jobs expired, %s upload chunks deleted in %s batches", expired, deleted, batches)
    return {"expired": expired, "chunks_deleted": deleted, "batches": batches}


def _row_cleaner(layout: _Layout) -> Callable[[list[str]], str | None]:
    """A function: why a parsed line cannot be imported, or None; it cleans the known cells in place."""
    width, id_index = layout.width, layout.id_index
    email_index = layout.known.get("email")
    others = [(i, clean) for name, clean in layout.cleaners().items() if (i := layout.known.get(name)) is not None]
    email_match = EMAIL_RE.match
    topics = layout.topics

    def problem(row: list[str]) -> str | None:
        if len(row) != width:
            return f"broken row: expected {width} fields, found {len(row)}"
        external_id = row[id_index].strip()
        if not external_id:
            return "missing external_id"
        if len(external_id) > MAX_EXTERNAL_ID:
            return f"external_id longer than {MAX_EXTERNAL_ID} characters"
        row[id_index] = external_id
        if email_index is not None:
            email = row[email_index].strip().lower()
            if email and (len(email) > 254 or not email_match(email)):
                return f"malformed email {email!r}"
            row[email_index] = email
        try:
            for index, clean in others:
                if row[index].strip():
                    row[index] = clean(row[index])
        except FieldError as exc:
            return f"malformed {exc}"
        for index, key in topics.items():
            column = {}
            row[index] = topic_cells_clean(key, [row[index]], column)[0]
            if column:
                return column[0]
        return None

    return problem


def _fragment(key: str, cell: str) -> str:
    """One attribute cell as `"name":value`, typed; "" for an empty cell (it sets nothing)."""
    value = cell.strip()
    if not value:
        return ""
    first = value[0]
    if (first.isdigit() or first == "-") and (INTEGER_RE.fullmatch(value) or DECIMAL_RE.fullmatch(value)):
        return key + value  # already a JSON number
    return key + (BOOLEANS.get(value) or _encode_string(value))


_encode_string = json.encoder.encode_basestring  # the C string encoder json.dumps uses


def _attributes_json(layout: _Layout) -> Callable[[list[str]], str]:
    """A function: a row's attribute cells → the JSON object text of the typed values. Each
    column remembers the fragments of the first ATTRIBUTE_MEMO distinct cells it met, so repeated
    values (plans, flags, countries, dates, small numbers) cost one dict lookup."""
    columns = [(json.dumps(name) + ":", index, {}) for name, index in layout.attributes]

    def build(row: list[str]) -> str:
        parts = []
        for key, index, memo in columns:
            cell = row[index]
            part = memo.get(cell)
            if part is None:
                part = _fragment(key, cell)
                if len(memo) < ATTRIBUTE_MEMO:
                    memo[cell] = part
            if part:
                parts.append(part)
        return "{" + ",".join(parts) + "}"

    return build


# COPY's text format: a tab between fields, a newline after each row, and only backslash, tab,
# newline and carriage return escaped. Most rows hold none of them, so one C scan of the joined
# row decides (csv.writer quoted every JSON text and doubled its quotes: 40% of parsing).
_COPY_SPECIAL = re.compile(r"[\\\n\r\x00]")  # and a tab beyond the separators
# The same characters and the tab: none of them may appear in a cell the column path copies as is.
_COPY_SPECIAL_OR_TAB = re.compile(r"[\\\t\n\r\x00]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class _Chunk:
    """Up to CHUNK_ROWS importable lines as COPY text, and the lines refused since the previous chunk."""

    text: str
    rows: int
    errors: list[tuple[int, str]]
    # Holds an id of the chunk before it: it is stored only once that one has committed, so the
    # later line wins (chunks without one are stored alongside their predecessor).
    follows_previous: bool = False


def _chunks(source: _Lines, layout: _Layout) -> Iterator[_Chunk]:
    """The file as chunks. Lines are taken a few hundred at a time: a batch without quotes is split
    into columns by C string methods (_split: ~0.3 µs a row, against ~2 for csv.reader and the
    transposition), any other batch is read by csv.reader; then it is built column by column
    (_batch_text), and a batch that column path refuses goes row by row (_Rows). Batches stay small
    so their rows die young: batches of 50,000 rows reached the collector's oldest generation and
    made parsing slower, not faster."""
    fast, rows_path = _batch_text(layout), _Rows(layout)
    step_limit = max(1, min(READ_STEP, BATCH_CELLS // layout.width))
    chunk = _Building(set())
    row_chars = 0.0  # COPY text a row, from the last batch built
    last_line = source.taken  # the header's
    ended = False
    while not ended:
        rows: list[list[str]] = []
        ends: list[int] = []
        step = min(step_limit, CHUNK_ROWS - len(chunk.seen))
        if row_chars:  # wide rows: smaller batches, and a chunk ends near CHUNK_CHARS, not a batch past it
            step = min(step, int(BATCH_CHARS / row_chars), int((CHUNK_CHARS - chunk.chars) / row_chars) + 1)
        step = max(1, step)
        broken = batch = None
        try:
            lines = source.take(step)
            ended = len(lines) < step
            batch = _split(lines, layout.width)
            if batch is not None:
                ends = list(range(last_line + 1, last_line + 1 + len(lines)))
            else:
                source.give_back(lines)
                ended = False
                add_row, add_end = rows.append, ends.append
                for row in islice(source.reader, step):
                    add_row(row)
                    add_end(source.taken)  # a quoted field may span lines
                ended = len(rows) < step
                batch = _Batch.of_rows(rows, layout.width)
        except csv.Error as exc:
            broken = f"broken row: {exc}"
        built = fast(batch, chunk.seen) if batch is not None and batch.rows and broken is None else None
        if built is not None:
            text, ids, refused = built
            # A refused row starts on the line after the previous row's end.
            chunk.errors += [((ends[i - 1] if i else last_line) + 1, why) for i, why in refused]
            chunk.add_text(text, ids)
            last_line = ends[-1]
            row_chars = max(len(text), 1) / batch.rows
        else:
            if batch is not None and not rows:
                rows = batch.csv_rows()
            for line_end, row in zip(ends, rows, strict=True):
                done = rows_path.add(chunk, last_line + 1, row)
                last_line = line_end
                if done is not None:
                    chunk = done.next
                    yield done.chunk
        if broken is not None:
            chunk.errors.append((last_line + 1, broken))
            last_line = source.taken
        if len(chunk.seen) >= CHUNK_ROWS or chunk.chars >= CHUNK_CHARS:
            done_chunk, chunk = chunk.close()
            yield done_chunk
    if chunk.seen or chunk.errors:
        yield chunk.close()[0]


# What universal newlines (TextIOWrapper, newline='') end a line at: \r\n, \r or \n. str.splitlines
# agrees unless the text holds one of the other breaks it knows (then this pattern splits it).
_OTHER_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")  # a C scan each
_UNIVERSAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
READ_BYTES = 1 << 20  # bytes decoded and split into lines at a time


class _Lines:
    """The file's lines (each with its line break, as iterating the text file gives them), decoded
    and split READ_BYTES at a time. `take` hands out lines for _split; csv.reader (`reader`) reads
    the same lines one by one for batches _split cannot take. `taken` counts the lines handed out:
    the file's line number of the last one. Bytes that are not UTF-8 end the file with a
    FieldError naming their line, once every line before them has been handed out."""

    def __init__(self, raw: io.BufferedIOBase):
        self.raw = raw
        self.lines: list[str] = []
        self.at = 0
        self.rest = ""  # a line not yet ended by the text decoded so far
        self.undecoded = b""  # a character cut by the end of the bytes read so far
        self.bad: UnicodeDecodeError | None = None
        self.first = True
        self.taken = 0
        self.reader = csv.reader(self)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.at >= len(self.lines) and not self._fill():
            raise StopIteration
        self.at += 1
        self.taken += 1
        return self.lines[self.at - 1]

    def take(self, count: int) -> list[str]:
        """Up to `count` lines; fewer only at the end of the file."""
        lines = self.lines[self.at : self.at + count]
        self.at += len(lines)
        self.taken += len(lines)
        try:
            while len(lines) < count and self._fill():
                more = self.lines[: count - len(lines)]
                self.at = len(more)
                self.taken += len(more)
                lines += more
        except FieldError:
            self.give_back(lines)
            raise
        return lines

    def give_back(self, lines: list[str]) -> None:
        """Lines taken last, to be read again (by csv.reader)."""
        if lines:
            self.lines = lines + self.lines[self.at :]
            self.at = 0
            self.taken -= len(lines)

    def _text(self) -> str:
        """The next decoded text ("" at the end of the file)."""
        while True:
            if self.bad is not None:
                raise FieldError(f"The file is not UTF-8 at line {self.taken + 1}: {self.bad.reason}.")
            read = self.raw.read(READ_BYTES)
            data = self.undecoded + read
            try:  # a character cut by the end of `read` waits for the next read (final only at the end)
                text, used = codecs.utf_8_decode(data, "strict", not read)
            except UnicodeDecodeError as exc:  # the text before the bad bytes is handed out first
                self.bad = exc
                text, used = data[: exc.start].decode("utf-8"), exc.start
            self.undecoded = data[used:]
            if text or (not read and self.bad is None):
                if self.first and text:
                    self.first = False
                    text = text.removeprefix("\ufeff")  # a byte-order mark (utf-8-sig)
                return text

    def _fill(self) -> bool:
        while True:
            piece = self._text()
            if not piece:
                if not self.rest:
                    return False
                self.lines, self.at, self.rest = [self.rest], 0, ""
                return True
            piece = self.rest + piece
            odd = any(brk in piece for brk in _OTHER_BREAKS)
            lines = _UNIVERSAL_LINE.findall(piece) if odd else piece.splitlines(True)
            # The last line may go on in the next piece (a "\r" may be half of "\r\n").
            self.rest = "" if lines[-1][-1] == "\n" else lines.pop()
            if lines:
                self.lines, self.at = lines, 0
                return True


def _split(lines: list[str], width: int) -> _Batch | None:
    """The lines' columns as csv.reader would read them, by C string methods: for lines without a
    quote or a lone carriage return, each holding width - 1 commas (no blank line) and no field
    over csv's size limit; None for any other batch (csv.reader reads it)."""
    if not lines:
        return None
    block = "".join(lines)
    if '"' in block:
        return None
    if "\r" in block:
        block = block.replace("\r\n", "\n")
        if "\r" in block:
            return None
    if set(map(str.count, lines, repeat(","))) != {width - 1} or max(map(len, lines)) > csv.field_size_limit():
        return None
    if block[-1] == "\n":
        block = block[:-1]
    cells = block.replace("\n", ",").split(",")
    columns = [cells[i::width] for i in range(width)]
    # No cell holds a character COPY must escape: the column path need not look again.
    return _Batch(columns, len(lines), lines=lines, plain="\\" not in block and "\t" not in block and "\x00" not in block)


class _Batch:
    """A batch's cells by column, `rows` long each; `plain` when no cell holds a character COPY
    must escape (known without looking at each cell)."""

    def __init__(self, columns: list, rows: int, *, lines: list[str] | None = None, plain: bool = False):
        self.columns, self.rows, self.lines, self.plain = columns, rows, lines, plain

    @classmethod
    def of_rows(cls, rows: list[list[str]], width: int) -> _Batch | None:
        if not rows or set(map(len, rows)) != {width}:
            return None  # the row path says which line is broken
        return cls(list(zip(*rows, strict=True)), len(rows))

    def csv_rows(self) -> list[list[str]]:
        """The rows of a batch _split made (lines without quotes: one row each)."""
        return list(csv.reader(self.lines))


class _Building:
    """The chunk being built: its COPY text, ids and the lines refused since the previous chunk."""

    def __init__(self, previous: set[str]):
        self.parts: list[str] = []
        self.seen: set[str] = set()
        self.previous = previous  # the ids of the chunk before
        self.follows = False
        self.errors: list[tuple[int, str]] = []
        self.chars = 0

    def add_text(self, text: str, ids: set[str]) -> None:
        self.parts.append(text)
        self.chars += len(text)
        self.seen |= ids
        self.follows = self.follows or not self.previous.isdisjoint(ids)

    def close(self) -> tuple[_Chunk, _Building]:
        return _Chunk("".join(self.parts), len(self.seen), self.errors, self.follows), _Building(self.seen)


@dataclass
class _Closed:
    chunk: _Chunk
    next: _Building


class _Rows:
    """The row path: bad lines become errors, COPY's special characters are escaped, and a chunk
    ends early at an id it already holds (one upsert cannot touch a row twice), so a repeated id
    applies in file order."""

    def __init__(self, layout: _Layout):
        self.problem, self.attributes = _row_cleaner(layout), _attributes_json(layout)
        self.id_index, self.staged = layout.id_index, _staged_cells(layout)

    def add(self, chunk: _Building, line: int, row: list[str]) -> _Closed | None:
        """Adds one row (starting on `line`); answers the closed chunk and its successor when the
        row's id was already in this one."""
        if not row:
            return None  # a blank line
        refused = self.problem(row)
        if refused:
            chunk.errors.append((line, refused))
            return None
        cells = [row[self.id_index], *[staged(row[i]) for staged, i in self.staged], self.attributes(row)]
        if len(cells[-1]) > MAX_ATTRIBUTES_BYTES:  # the API's cap (services._clean_attributes)
            chunk.errors.append((line, f"attributes are larger than {MAX_ATTRIBUTES_BYTES // 1024} KiB as JSON"))
            return None
        text = "\t".join(cells)
        if _COPY_SPECIAL.search(text) or text.count("\t") >= len(cells):  # a NUL in an attribute is escaped by JSON: a backslash
            if any("\x00" in cell for cell in row):  # PostgreSQL text cannot hold it
                chunk.errors.append((line, "a cell contains a NUL character"))
                return None
            text = "\t".join(cell.translate(_COPY_ESCAPES) for cell in cells)
        closed = None
        if cells[0] in chunk.seen:
            done, chunk = chunk.close()
            closed = _Closed(done, chunk)
        chunk.add_text(text + "\n", {cells[0]})
        return closed


def _batch_text(layout: _Layout) -> Callable[[list[list[str]]], tuple[str, set[str], list[tuple[int, str]]] | None]:
    """A function: a batch of rows → its COPY text, ids and refused rows (index in the batch, why:
    a phone, time zone or locale its cleaner refuses), computed column by column (C loops over
    whole columns instead of Python per cell), or None when any row needs the row path (_Rows): a
    broken line, a missing id or bad email, an id already in the batch or the chunk (`seen`), a
    character COPY must escape outside attribute values."""
    id_index = layout.id_index
    known = list(layout.known.items())
    staged = {name: way for name, (way, _) in zip(layout.known, _staged_cells(layout), strict=True)}
    cleaners = layout.cleaners()
    # A file holds a few dozen distinct zones and locales: each is checked once.
    cleaners.update({name: _Distinct(cleaners[name]) for name in ("timezone", "locale")})
    fragments = _attribute_fragments(layout)
    email_match = EMAIL_RE.match
    strip, lower = str.strip, str.lower

    def build(batch: _Batch, seen: set[str]) -> tuple[str, set[str], list[tuple[int, str]]] | None:
        columns = list(batch.columns)
        ids = list(map(strip, columns[id_index]))
        if not all(ids) or max(map(len, ids)) > MAX_EXTERNAL_ID:
            return None
        unique = set(ids)
        if len(unique) != len(ids) or not seen.isdisjoint(unique):
            return None
        cells: list[list[str] | tuple[str, ...]] = [ids]
        refused: dict[int, str] = {}  # row in the batch → why it cannot be imported (its first bad cell)
        for name, index in known:
            column = columns[index]
            if name == "email":
                column = list(map(lower, map(strip, column)))
                given = list(filter(None, column))
                if given and (max(map(len, given)) > 254 or not all(map(email_match, given))):
                    return None
            elif name == "phone":
                column = _clean_phones(column, cleaners[name], refused)
            elif name in cleaners:
                column = cleaners[name].column(column, refused)
            if name == "tags":
                column = list(map(staged[name], column))
            elif name != "email":  # cleaned above; the others trimmed of spaces (as btrim does)
                column = list(map(str.strip, column, repeat(" ")))
            cells.append(column)
        for index, key in layout.topics.items():  # typed true/false for the attribute fragments
            columns[index] = topic_cells_clean(key, columns[index], refused)
        if refused:  # those rows are reported, the others stored (as the row path does)
            keep = [i for i in range(len(ids)) if i not in refused]
            cells = [[column[i] for i in keep] for column in cells]
            unique.difference_update(ids[i] for i in refused)
        if not batch.plain and _COPY_SPECIAL_OR_TAB.search("\x01".join(chain.from_iterable(cells))):
            return None
        # The usual batch: each line joined from its cells and its attributes' fragments at once,
        # the first fragment's comma dropped by one replace over the batch ("\t{," starts nothing
        # else: the other cells hold no tab and start no JSON).
        parts = fragments.parts(columns)
        if refused:
            parts = [[column[i] for i in keep] for column in parts]
        lines = list(map("".join, zip(map("\t".join, zip(*cells, strict=True)), repeat("\t{"), *parts, repeat("}\n"))))
        if not lines:
            return "", unique, sorted(refused.items())
        if max(map(len, lines)) <= MAX_ATTRIBUTES_BYTES and "\\" not in (text := "".join(lines)):
            return text.replace("\t{,", "\t{"), unique, sorted(refused.items())
        attributes = fragments(columns)
        if max(map(len, attributes), default=0) > MAX_ATTRIBUTES_BYTES:  # the row path says which line
            return None
        if any("\\" in text for text in attributes):  # JSON escapes: COPY doubles the backslash
            if any("\\u0000" in text for text in attributes):  # a NUL: jsonb refuses it, the row path says where
                return None
            attributes = [text.replace("\\", "\\\\") for text in attributes]
        if refused:
            attributes = [text for i, text in enumerate(attributes) if i not in refused]
        cells.append(attributes)
        text = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n" if cells[0] else ""
        return text, unique, sorted(refused.items())

    return build


class _Distinct:
    """A time zone or locale column's cleaner: a batch's distinct cells are each cleaned (or
    refused) once, the first ATTRIBUTE_MEMO of the file remembered, and the column is mapped through
    them; a refused cell's row goes into `refused` with the row path's message, unless an earlier
    column refused it already."""

    def __init__(self, clean: Callable[[str], str]):
        self.clean = clean
        self.values: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def column(self, column: tuple[str, ...], refused: dict[int, str]) -> list[str]:
        values, errors = {}, {}
        for cell in set(column):
            if cell in self.values:
                values[cell] = self.values[cell]
            elif cell in self.errors:
                errors[cell] = self.errors[cell]
            else:
                remember = len(self.values) + len(self.errors) < ATTRIBUTE_MEMO
                try:
                    values[cell] = self.clean(cell) if cell.strip() else cell
                except FieldError as exc:
                    errors[cell] = f"malformed {exc}"
                    if remember:
                        self.errors[cell] = errors[cell]
                else:
                    if remember:
                        self.values[cell] = values[cell]
        if not errors:
            return list(map(values.__getitem__, column))
        for i, cell in enumerate(column):
            if cell in errors:
                refused.setdefault(i, errors[cell])
        return [values.get(cell, cell) for cell in column]


def _clean_phones(column: tuple[str, ...], clean: Callable[[str], str], refused: dict[int, str]) -> list[str]:
    """The phone column cleaned: most cells are valid "+" numbers quick_e164 answers for (~1 µs);
    the others (quick_e164 answers "" or None) go through `clean` (phone_clean), a refused cell's
    row into `refused` (as _Distinct)."""
    cleaned = list(map(quick_e164, column))
    for i in [i for i, answer in enumerate(cleaned) if not answer]:
        cell = cleaned[i] = column[i]
        if cell.strip():
            try:
                cleaned[i] = clean(cell)
            except FieldError as exc:
                refused.setdefault(i, f"malformed {exc}")
    return cleaned


def _staged_cells(layout: _Layout) -> list[tuple[Callable[[str], str], int]]:
    """How each known column's (cleaned) cell is staged, with its file column: email as cleaned,
    tags as a PostgreSQL array (_tags_array), the others trimmed of spaces (as btrim does)."""
    tags = _TagsArrays()
    ways = {"email": str, "tags": tags.__getitem__}
    return [(ways.get(name, _strip_spaces), index) for name, index in layout.known.items()]


def _strip_spaces(cell: str) -> str:
    return cell.strip(" ")


class _TagsArrays(dict):
    """A tags cell → its PostgreSQL array text: split at ';', each tag trimmed of spaces, empty
    ones and repeats dropped (first one kept); remembers the first ATTRIBUTE_MEMO distinct cells."""

    def __missing__(self, cell: str) -> str:
        tags = dict.fromkeys(t.strip(" ") for t in cell.split(";"))
        tags.pop("", None)
        text = "{" + ",".join('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in tags) + "}"
        if len(self) < ATTRIBUTE_MEMO:
            self[cell] = text
        return text


def _attribute_fragments(layout: _Layout) -> Callable[[list[tuple[str, ...]]], list[str]]:
    """A function: a batch's columns → each row's attributes as JSON object text (_attributes_json
    does one row the same way)."""
    size = max(ATTRIBUTE_MEMO, ATTRIBUTE_MEMO_TOTAL // max(1, len(layout.attributes)))
    memos = [(_Fragments(json.dumps(name) + ":", size), index) for name, index in layout.attributes]

    def build(columns: list[tuple[str, ...]]) -> list[str]:
        if not memos:
            return ["{}"] * len(columns[0])
        # Each fragment starts with its comma; [1:] drops the row's first one.
        return [f"{{{joined[1:]}}}" for joined in map("".join, zip(*parts(columns), strict=True))]

    def parts(columns: list[tuple[str, ...]]) -> list[list[str]]:
        """Each attribute column's fragments, row by row."""
        return [list(map(memo.__getitem__, columns[index])) for memo, index in memos]

    build.parts = parts
    return build


class _Fragments(dict):
    """One attribute column's cells → ',"name":value' (typed as _fragment does, "" for an empty
    cell), remembering the first `size` distinct short cells."""

    def __init__(self, key: str, size: int):
        super().__init__()
        self.key, self.size = key, size

    def __missing__(self, cell: str) -> str:
        part = _fragment(self.key, cell)
        part = "," + part if part else ""
        if len(self) < self.size and len(cell) <= MEMO_CELL_CHARS:
            self[cell] = part
        return part


def _parse_into(chunks: queue.Queue, source: _Lines, layout: _Layout, stop: threading.Event) -> None:
    """The parsing thread: puts every chunk, then None (or the exception that ended it)."""

    def put(item) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        for chunk in _chunks(source, layout):
            if not put(chunk):
                return
        put(None)
    except BaseException as exc:  # handed to the storing thread, which raises it
        put(exc)


def _run(progress: _Job, raw) -> None:
    """Parsing (Python, a thread of this process) overlaps storing, and STORERS threads store
    chunks at once, each through its own connection (PostgreSQL backend): a chunk's COPY and
    INSERT run beside the previous chunk's, so PostgreSQL, the larger cost, uses both cores.
    Chunks still commit in file order (_Turns), each with its progress and errors."""
    job = progress.job
    source = _Lines(raw)
    try:
        header = next(source.reader)
    except StopIteration:
        raise FieldError("The file is empty.") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FieldError(f"The header cannot be read as UTF-8 CSV: {exc}") from exc
    layout = _layout(header)
    layout.phone_region = job.workspace.default_country
    if unknown := sorted(set(layout.topics.values()) - topic_keys(workspace=job.workspace_id)):
        raise FieldError(f"Column {CSV_COLUMN_PREFIX}{unknown[0]} names no topic of this workspace.")
    with_list = job.customer_list_id is not None
    statements = {"upsert": False, "insert": True}
    chunks: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    parser = threading.Thread(target=_parse_into, args=(chunks, source, layout, stop), name=f"import-{job.pk}", daemon=True)
    source = _Numbered(chunks)
    turns = _Turns()
    stores = [
        _Store(f"import_stage_{job.pk}_{n}", layout, with_list=with_list, shared=statements)
        for n in range(STORERS)
    ]
    storers = [
        threading.Thread(target=store.run, args=(progress, source, turns), name=f"import-{job.pk}-store-{n}", daemon=True)
        for n, store in enumerate(stores)
    ]
    parser.start()
    for storer in storers:
        storer.start()
    try:
        for storer in storers:
            storer.join()
    finally:
        stop.set()
        parser.join()
    if turns.failed is not None:
        raise turns.failed


class _Numbered:
    """The parsed chunks, numbered in file order, shared by the storing threads."""

    def __init__(self, chunks: queue.Queue):
        self.chunks, self.lock, self.next = chunks, threading.Lock(), 0

    def get(self) -> tuple[int, _Chunk | BaseException | None]:
        with self.lock:
            item = self.chunks.get()
            if item is None or isinstance(item, BaseException):
                self.chunks.put(None)  # the parser has ended: the end for the other storers too
            number, self.next = self.next, self.next + 1
            return number, item


class _Abandoned(Exception):
    """An earlier chunk failed: this one is rolled back and the import ends."""


class _Turns:
    """Chunk n commits only after chunk n - 1 has: progress moves in file order, and a repeated
    id keeps the last line's values. The first failure ends everyone's wait."""

    def __init__(self):
        self.cond = threading.Condition()
        self.committed = 0  # chunks 0 .. committed - 1 are stored
        self.failed: BaseException | None = None

    def wait(self, number: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.committed >= number or self.failed is not None)
            if self.failed is not None:
                raise _Abandoned

    def done(self, number: int) -> None:
        with self.cond:
            self.committed = number + 1
            self.cond.notify_all()

    def fail(self, exc: BaseException) -> None:
        with self.cond:
            if self.failed is None:
                self.failed = exc
            self.cond.notify_all()


class _Store:
    """Stores chunks through this thread's own connection and staging table. New customers take a
    plain INSERT (~4.5 µs a row less than ON CONFLICT's speculative insertion, measured on 1M
    rows); the first chunk that meets an existing external_id rolls back to a savepoint and is
    upserted, and so is every chunk after it (`shared`, across the storing threads)."""

    def __init__(self, stage: str, layout: _Layout, *, with_list: bool, shared: dict):
        self.stage = stage
        columns = ["external_id", *layout.known, "attributes"]
        # Typed as stored, so COPY parses arrays and JSON and the INSERT only moves values: COPY +
        # INSERT of the bench file's rows cost 9.8 µs of backend CPU a row, against 11.8 with text
        # columns trimmed and split in SQL (the EXPLAIN ANALYZE timings, 1.2 s → 0.7 s a chunk,
        # overstate it: timing the per-row tags subquery inflated the old statement).
        types = {"tags": "text[]", "attributes": "jsonb"}
        self.create_sql = (
            f"CREATE TEMP TABLE {stage} ({', '.join(c + ' ' + types.get(c, 'text') for c in columns)}) ON COMMIT DELETE ROWS"
        )
        self.copy_sql = f"COPY {stage} ({', '.join(columns)}) FROM STDIN"
        self.insert_sql = _store_sql(stage, layout, with_list=with_list, upsert=False)
        self.upsert_sql = _store_sql(stage, layout, with_list=with_list, upsert=True)
        self.shared = shared

    def run(self, progress: _Job, source: _Numbered, turns: _Turns) -> None:
        """The storing thread: takes chunks until the end or a failure (handed to `turns`)."""
        try:
            connection.ensure_connection()
            self.pg = connection.connection
            # psycopg.Cursor binds parameters server-side (Django's cursor quotes them in Python).
            with psycopg.Cursor(self.pg) as cur:
                # Emptied by every commit, so each chunk's transaction starts from a clean stage.
                cur.execute(self.create_sql)
            while turns.failed is None:
                number, item = source.get()
                if item is None:
                    return
                if isinstance(item, BaseException):  # the parser's: raised once the chunks before it are stored
                    turns.wait(number)
                    turns.fail(item)
                    return
                self.chunk(progress, number, item, turns)
        except _Abandoned:
            pass
        except BaseException as exc:
            turns.fail(exc)
        finally:
            try:  # gone with the connection anyway, unless a pool keeps that open
                with psycopg.Cursor(connection.connection) as cur:
                    cur.execute(f"DROP TABLE IF EXISTS {self.stage}")
            except Exception:  # a broken connection: closing it drops the stage
                pass
            connection.close()  # this thread's own connection

    def _write(self, cur, params: dict) -> tuple[list[int], int]:
        if not self.shared["upsert"]:
            try:
                with transaction.atomic():  # a savepoint: the staged chunk survives its rollback
                    cur.execute(self.insert_sql, params)
                    return cur.fetchone()
            except psycopg.errors.UniqueViolation:
                self.shared["upsert"] = True
        cur.execute(self.upsert_sql, params)
        return cur.fetchone()

    def chunk(self, progress: _Job, number: int, chunk: _Chunk, turns: _Turns) -> None:
        """COPYs one chunk into the stage, stores it and records progress, in one transaction
        that commits after chunk number - 1's."""
        job = progress.job
        with transaction.atomic():
            if chunk.rows:
                if chunk.follows_previous:
                    turns.wait(number)
                with psycopg.Cursor(self.pg) as cur:
                    # A chunk's commit need not wait for its WAL flush: the job's final status is
                    # written by a synchronous commit, which flushes every chunk before it, and a
                    # server crash before that fails the job (a rerun upserts the same rows again).
                    cur.execute("SET LOCAL synchronous_commit = off")
                    with cur.copy(self.copy_sql) as copy:
                        copy.write(chunk.text)
                    params = {"ws": job.workspace_id, "list": job.customer_list_id, "now": timezone.now()}
                    ids, created = self._write(cur, params)
            turns.wait(number)  # from here on, this thread alone touches the job's counters
            for line, message in chunk.errors:
                progress.error(line, message)
            if chunk.rows:
                job.created += created
                job.updated += chunk.rows - created
                job.processed += chunk.rows
                workspace_id = job.workspace_id
                for start in range(0, len(ids), HOOK_SLICE):
                    part = ids[start : start + HOOK_SLICE]
                    transaction.on_commit(
                        lambda part=part: hooks.customers_changed(workspace_id=workspace_id, customer_ids=part)
                    )
            progress.save()
        turns.done(number)
