"""API plumbing named in settings (kept apart from the views so that DRF's settings import no view module)."""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.drainage import set_override
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler

from core import text_limits


class Pagination(PageNumberPagination):
    """Lists are paginated (``?page=``, ``?page_size=`` up to 500); rows are under ``results``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "与现有数据冲突。"
    default_code = "conflict"


# A service's ValidationError of this code means "that object already exists": 409, not 400.
CONFLICT_CODE = "conflict"


def _all_conflicts(exc: DjangoValidationError) -> bool:
    errors = [e for errors in exc.error_dict.values() for e in errors] if hasattr(exc, "error_dict") else exc.error_list
    return bool(errors) and all(e.code == CONFLICT_CODE for e in errors)


def api_exception_handler(exc, context):
    """A service's ValidationError becomes a 400 (409 when it reports a conflict with existing data), its
    PermissionDenied a 403, each with its (Chinese) message."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = Conflict(detail) if _all_conflicts(exc) else exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


class CodeRelatedField(serializers.SlugRelatedField):
    """Another object named by its code (``slug_field``), at most ``text_limits.CODE`` characters: longer text is
    refused before the lookup, and the schema says so (``core.api_schema.CodeRelatedFieldExtension``)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > text_limits.CODE:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:20] + "…")
        return super().to_internal_value(data)


# Ids and years in query parameters: bounded integers (a 1e262 "id" overflowed the database driver: a 500).
MAX_ID = 2**53 - 1


class IntegerFilter(django_filters.NumberFilter):
    """An integer query parameter between ``min_value`` and ``max_value`` (400 outside), documented as such."""

    field_class = forms.IntegerField

    def __init__(self, *args, min_value: int = 1, max_value: int = MAX_ID, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)
        set_override(self, "field", {"type": "integer", "minimum": min_value, "maximum": max_value})
