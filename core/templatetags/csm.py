"""Formatting of numbers on pages: rates as percentages with one decimal (80.7%)."""

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.80665 → '80.7%'; None → '—'."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter
def num(value, digits: int = 2) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def mask_phones(value) -> str:
    """Free text typed by staff may hold a phone number: shown masked (138****5678) on every page (PIPL)."""
    from core.logging import mask_phones as mask

    return mask(str(value)) if value not in (None, "") else ""
