"""API permission classes built from the apps' own predicates ("may this user read / write here").

Which rows a user sees is decided by each app's ``*_visible_to`` selectors; a permission class only decides
whether a user may use an endpoint at all (read) and whether they may write through it.
"""

from collections.abc import Callable

from rest_framework.permissions import SAFE_METHODS, BasePermission

Predicate = Callable[[object], bool]


def predicate_permission(name: str, *, read: Predicate, write: Predicate | None = None, message: str) -> type:
    """A DRF permission: safe methods need ``read(user)``, the others ``write(user)`` (default: ``read``)."""
    write = write or read

    def has_permission(self, request, view) -> bool:
        return (read if request.method in SAFE_METHODS else write)(request.user)

    return type(name, (BasePermission,), {"message": message, "has_permission": has_permission})
