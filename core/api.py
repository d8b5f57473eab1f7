"""API plumbing named in settings (kept apart from the views so that DRF's settings import no view module)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler


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
