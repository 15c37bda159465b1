"""`python -m devtools.probe postgres|redis URL`: exit 0 when that service answers at URL.

CI uses it to prefer the machine's own PostgreSQL and Redis over the embedded ones. For
PostgreSQL the database named in the URL is created when it is missing."""

from __future__ import annotations

import sys

import psycopg
import redis

from devtools.services import ensure_database


def postgres_answers(url: str) -> bool:
    try:
        ensure_database(url)
        return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


if __name__ == "__main__":
    kind, url = sys.argv[1:3]
    sys.exit(0 if {"postgres": postgres_answers, "redis": redis_answers}[kind](url) else 1)
