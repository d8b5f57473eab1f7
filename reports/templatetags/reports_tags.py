"""Template helpers of the report PDFs."""

from django import template

from reports.selectors import OVERDUE_SHOWN, THEME_EXAMPLES, weighted_of

register = template.Library()


@register.filter
def weighted(row):
    """The row's weighted figures (rate, interval, n_eff) when it carries them, else None."""
    return weighted_of(row)


@register.filter
def any_weighted(rows) -> bool:
    return any(weighted_of(row) is not None for row in rows or [])


@register.filter
def examples(theme) -> list[str]:
    """The first comments mentioning a theme, as many as the pack prints."""
    return theme.examples[:THEME_EXAMPLES]


@register.filter
def unmentioned(themes) -> list[str]:
    """The names of the lexicon's themes no comment mentioned."""
    return [theme.name for theme in themes or [] if not theme.comments]


@register.filter
def overdue_shown(tickets) -> list:
    return list(tickets or [])[:OVERDUE_SHOWN]


@register.filter
def overdue_more(tickets) -> int:
    return max(len(tickets or []) - OVERDUE_SHOWN, 0)
