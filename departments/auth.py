"""The signed-in user and what they may see, cached: no user, group or port query on a request that hits.

``CachedAuthenticationMiddleware`` replaces Django's ``AuthenticationMiddleware``. It reads the user id from the
session as Django does, and takes the user — with their roles and visible ports already worked out
(``departments.selectors``) — from the cache under the ``scope`` version (``core.versions``). Anything that
changes a user, a group, a membership, a department or a port moves that version in its own transaction
(the receivers below), so a changed password, a lost role or a moved port is seen by the very next request, in
every process. The session is verified against the cached user's password hash on every request, exactly as
Django does; anything unusual (another backend, a hash that does not match) goes Django's own way.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from core.versions import SCOPE, versions_bump, versions_read
from departments.selectors import ports_visible_to, user_roles

USER_SECONDS = 600


def _user_key(user_id, version) -> str:
    return f"auth:user:{user_id}:{version}"


def cached_user(request):
    """The request's user: from the cache when its session says who and the hash still matches."""
    session = request.session
    try:
        user_id = session[auth.SESSION_KEY]
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)  # anonymous
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    key = _user_key(user_id, versions_read(request).get(SCOPE))
    user = cache.get(key)
    if user is not None:
        session_hash = session.get(HASH_SESSION_KEY)
        if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
            return user
    user = auth.get_user(request)  # Django's own path: verifies, rotates or flushes the session
    if user.is_authenticated:
        user_roles(user)
        ports_visible_to(user)  # both remembered on the object, so cached with it
        cache.set(key, user, USER_SECONDS)
    return user


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: cached_user(request))


# --- What moves the scope version ---------------------------------------------------------------------------------


def _scope_changed(sender, **kwargs) -> None:
    update_fields = kwargs.get("update_fields")
    if sender is get_user_model() and update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login stamps last_login: nothing anyone may see changed
    versions_bump(SCOPE)


def connect_scope_receivers() -> None:
    from departments.models import Department, Membership, Port

    user_model = get_user_model()
    for model in (user_model, Group, Department, Membership, Port):
        post_save.connect(_scope_changed, sender=model, dispatch_uid=f"scope-save-{model._meta.label}")
        post_delete.connect(_scope_changed, sender=model, dispatch_uid=f"scope-delete-{model._meta.label}")
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through,
                    Port.monitors.through):
        m2m_changed.connect(_scope_changed, sender=through, dispatch_uid=f"scope-m2m-{through._meta.label}")
