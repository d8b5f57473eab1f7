"""Template helpers of the report PDFs."""

from django import template

from reports.selectors import weighted_of

register = template.Library()


@register.filter
def weighted(row):
    """The row's weighted figures (rate, interval, n_eff) when it carries them, else None."""
    return weighted_of(row)


@register.filter
def any_weighted(rows) -> bool:
    return any(weighted_of(row) is not None for row in rows or [])
