"""Warming: after a recompute, render again the pages and JSON that readers had been asking for, so that the
first view after it is a cache hit (in production the cache is shared, so the worker warms it for every web
process). The registry (``views.WARM_REGISTRY``) holds the most recent cold renders: path, language and a user
of each scope; each is rendered through its view as that user would get it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import resolve
from django.utils import translation

from departments.selectors import ports_visible_to, user_roles


def warm_pages() -> int:
    from dashboards.views import WARM_REGISTRY

    registry = cache.get(WARM_REGISTRY) or {}
    users = {user.pk: user for user in get_user_model().objects.filter(
        pk__in={entry[3] for entry in registry.values()}, is_active=True)}
    warmed = 0
    factory = RequestFactory()
    for _kind, path, language, user_id in list(registry.values()):
        user = users.get(user_id)
        if user is None:
            continue
        user_roles(user)
        ports_visible_to(user)
        request = factory.get(path)
        request.user = user
        request.session = {}
        with translation.override(language):
            request.LANGUAGE_CODE = language
            match = resolve(request.path_info)
            response = match.func(request, *match.args, **match.kwargs)
        warmed += response.status_code == 200
    return warmed
