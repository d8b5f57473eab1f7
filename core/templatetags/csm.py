"""Formatting of numbers on pages (rates as percentages with one decimal, 80.7%), and small helpers of the form templates."""

from django import forms, template
from django.forms.forms import NON_FIELD_ERRORS

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


@register.filter
def has_field_errors(form) -> bool:
    """True when an error belongs to a field (shown beside it), not only to the whole form."""
    return any(name != NON_FIELD_ERRORS for name in form.errors)


@register.filter
def shows_back_what_was_typed(form) -> bool:
    """False when a refused form cannot give everything back: browsers never refill a password or a chosen file."""
    return not any(isinstance(field.widget, (forms.PasswordInput, forms.FileInput)) for field in form.fields.values())
