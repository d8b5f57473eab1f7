"""Cache versions: one number per kind of change, read by every request in one query, moved by every change.

- ``scope``: who may see what (users, groups, departments, memberships, ports) — the signed-in user and their
  visible ports are cached under it (``departments.auth``);
- ``data``: anything the dashboards show (snapshots, fill states, surveys, questions, projects, plans, feedback)
  — rendered pages are cached under it (``dashboards.views``).

A change moves its version inside its own transaction, so a reader sees the new version exactly when it sees the
new data: an entry cached under a version never shows data older than that version's. Values are random (not
counters), so a version never comes back after a rollback and an entry of a rolled-back world is never reused.
Works with any cache (the version lives in the database), so per-process caches stay correct too.
"""

from __future__ import annotations

import secrets

from django.db import connection

from core.models import CacheVersion

SCOPE = "scope"
DATA = "data"
_ATTRIBUTE = "_csm_versions"
_READ = f"SELECT name, value FROM {CacheVersion._meta.db_table}"


def versions_read(request=None) -> dict[str, int]:
    """Every version, in one query (remembered on ``request`` for the rest of it)."""
    if request is not None:
        known = getattr(request, _ATTRIBUTE, None)
        if known is not None:
            return known
    # Plain SQL: this runs on every signed-in request, and the ORM's query building would cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(_READ)
        versions = dict(cursor.fetchall())
    if request is not None:
        setattr(request, _ATTRIBUTE, versions)
    return versions


def versions_bump(*names: str) -> None:
    """Give each named version a new value (within the caller's transaction)."""
    for name in names:
        value = secrets.randbits(62)
        if not CacheVersion.objects.filter(name=name).update(value=value):
            CacheVersion.objects.bulk_create([CacheVersion(name=name, value=value)], ignore_conflicts=True)
