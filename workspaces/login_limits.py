"""Failed sign-ins counted per account and per client address in Redis, for every way in: the
API's /auth/login and the admin's login page both authenticate through RateLimitedModelBackend."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .redis import get_redis


def _counters(request, email: str) -> list[tuple[str, int]]:
    from .middleware import client_address  # the middleware imports this package's throttling

    # Hashed: Redis keys are listed by operators, and an address list is personal data.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return [
        (f"wm:loginfail:account:{account}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        (f"wm:loginfail:address:{client_address(request)}", settings.LOGIN_FAILURES_PER_ADDRESS),
    ]


def login_retry_after(request, email: str) -> int | None:
    """Seconds until this account may be tried again from this address, or None when it may now."""
    counters = _counters(request, email)
    pipe = get_redis().pipeline()
    for key, _ in counters:
        pipe.get(key)
        pipe.ttl(key)
    answers = pipe.execute()
    waits = [
        max(1, ttl)
        for (_, limit), count, ttl in zip(counters, answers[::2], answers[1::2], strict=True)
        if count is not None and int(count) >= limit
    ]
    return max(waits) if waits else None


def login_failure_record(request, email: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    pipe = get_redis().pipeline()
    for key, _ in _counters(request, email):
        pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure
        pipe.incr(key)
    pipe.execute()


def login_success_record(request, email: str) -> None:
    """The account's own count starts again; the address's does not (one success would otherwise
    let an address guess on at many other accounts)."""
    get_redis().delete(_counters(request, email)[0][0])


class RateLimitedModelBackend(ModelBackend):
    """Django's email + password check, refused outright while the account or the client address
    is over its failure limit, so the admin login is limited like the API's."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or not email:
            return super().authenticate(request, username=username, password=password, **kwargs)
        if login_retry_after(request, email) is not None:
            raise PermissionDenied("too many failed sign-ins")  # authenticate() answers None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(request, email)
        else:
            login_success_record(request, email)
        return user
