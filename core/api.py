"""API plumbing named in settings (kept apart from the views so that DRF's settings import no view module)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler

from core import text_limits


class Pagination(PageNumberPagination):
    """Lists are paginated (``?page=``, ``?page_size=`` up to 500); rows are under ``results``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def api_exception_handler(exc, context):
    """A service's ValidationError becomes a 400, its PermissionDenied a 403, each with its (Chinese) message."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


@extend_schema_field({"type": "string", "maxLength": text_limits.CODE})
class CodeRelatedField(serializers.SlugRelatedField):
    """Another object named by its code (``slug_field``), at most ``text_limits.CODE`` characters: longer text is
    refused before the lookup, and the schema says so."""

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > text_limits.CODE:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:20] + "…")
        return super().to_internal_value(data)
