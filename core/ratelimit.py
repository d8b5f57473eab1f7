"""Fixed-window rate limits on Django's cache: "at most N of these per key per window".

Used for password-reset mails (per account and per client address); meant for any public form that sends
something or costs something (owners' survey links, for one). Keys are hashed, so an e-mail address or a token
never appears in the cache. With the cache unreachable the limit fails open (``DegradingCache`` answers a miss):
an outage must not lock everybody out of resetting a password.
"""

import hashlib

from django.core.cache import cache


def _cache_key(scope: str, key: str, window_seconds: int) -> str:
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{window_seconds}:{digest}"


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one more event for ``key`` and say whether it goes beyond ``limit`` in the current window.

    The window starts at the first event (``cache.add``) and lasts ``window_seconds``; every event in it counts,
    refused ones included, so hammering does not reopen the door early.
    """
    name = _cache_key(scope, key, window_seconds)
    if cache.add(name, 1, timeout=window_seconds):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr, or the cache lost it: a new window
            cache.set(name, 1, timeout=window_seconds)
            count = 1
    return count > limit


def rate_limits_hit(*, scope: str, limits: list[tuple[str, str, int]], window_seconds: int) -> list[str]:
    """Count one event under several keys at once (e.g. per account and per address); the names of those over.

    ``limits`` holds (name, key, limit); every key is counted, whichever is over, so that each limit holds alone.
    """
    return [
        name
        for name, key, limit in limits
        if rate_limit_hit(scope=f"{scope}:{name}", key=key, limit=limit, window_seconds=window_seconds)
    ]


def rate_limit_reached(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Whether ``key`` already used up its ``limit`` events in the current window, without counting one more
    (for limits on failures only: check before trying, count with ``rate_limit_hit`` when it failed)."""
    return (cache.get(_cache_key(scope, key, window_seconds)) or 0) >= limit
