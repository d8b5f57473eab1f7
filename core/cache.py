"""The shared cache (Redis), degrading to no cache while Redis is unreachable.

Everything cached is also kept elsewhere (sessions are written through to the database, dashboard panels are
rendered again from snapshots, rate-limit counts start afresh), so while Redis is down a cache call is answered as
a miss: reads return the default, writes are dropped, and pages keep serving from the database, slower. After a
failure Redis is left alone for ``RETRY_SECONDS`` (no request waits on a dead server) and the outage is logged at
most once a minute.

When Redis answers again, every key of ours is deleted before anything is read: a logout, a password change or a
role change during the outage could not delete its cached copy, and a stale session must not come back.

Clients are reused: Django's Redis cache builds a new redis-py client object on every operation.

Django's ``RedisCacheClient.get_client`` makes a ``redis.Redis`` for each get or set; redis-py builds its table of
~170 response callbacks in every new client, which cost more CPU than the round trip itself (≈ 0.3 ms a call).
The clients here are made once per connection pool and reused (a ``redis.Redis`` is thread-safe: each command
takes a connection from the pool). Everything else is Django's backend, unchanged.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


logger = logging.getLogger("csm.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_SECONDS = 2.0
LOG_EVERY_SECONDS = 60.0
_MISSING = object()


class DegradingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic time before which Redis is not tried
        self._outage = False  # a call failed since the last purge
        self._logged_at = float("-inf")

    # -- the state machine ---------------------------------------------------------------------------------------

    def _call(self, operation, fallback):
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            if self._outage:
                self._recover()
            return operation()
        except UNREACHABLE as exc:
            self._failed(exc)
            return fallback()

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._outage = True
            self._down_until = now + RETRY_SECONDS
            if now - self._logged_at < LOG_EVERY_SECONDS:
                return
            self._logged_at = now
        logger.warning("cache unavailable (%s: %s): serving without it", exc.__class__.__name__, exc)

    def _recover(self) -> None:
        """Delete every key under our prefix (raises while Redis is still away, so the outage stays recorded)."""
        client = self._cache.get_client(write=True)
        pattern = f"{self.key_prefix}:*" if self.key_prefix else "*"
        batch, deleted = [], 0
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
        with self._lock:
            self._outage = False
        logger.warning("cache reachable again: %s entries from before the outage deleted", deleted)

    # -- Django's cache API ---------------------------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get(key, default, version), lambda: default)

    def get_many(self, keys, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get_many(keys, version), dict)

    def has_key(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).has_key(key, version), lambda: False)

    def set(self, key, value, timeout=_MISSING, version=None):
        timeout = self.default_timeout if timeout is _MISSING else timeout
        return self._call(lambda: super(DegradingRedisCache, self).set(key, value, timeout, version), lambda: None)

    def add(self, key, value, timeout=_MISSING, version=None):
        timeout = self.default_timeout if timeout is _MISSING else timeout
        return self._call(lambda: super(DegradingRedisCache, self).add(key, value, timeout, version), lambda: False)

    def set_many(self, data, timeout=_MISSING, version=None):
        timeout = self.default_timeout if timeout is _MISSING else timeout
        return self._call(
            lambda: super(DegradingRedisCache, self).set_many(data, timeout, version), lambda: list(data)
        )

    def touch(self, key, timeout=_MISSING, version=None):
        timeout = self.default_timeout if timeout is _MISSING else timeout
        return self._call(lambda: super(DegradingRedisCache, self).touch(key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).delete(key, version), lambda: False)

    def delete_many(self, keys, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).delete_many(keys, version), lambda: None)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (cache unavailable)")

        return self._call(lambda: super(DegradingRedisCache, self).incr(key, delta, version), missing)

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version)

    def clear(self):
        return self._call(lambda: super(DegradingRedisCache, self).clear(), lambda: False)
