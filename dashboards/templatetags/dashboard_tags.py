"""Table cells of the dashboards: a rate with its raw value for machines and a "样本不足" badge when n < 30."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.templatetags.csm import pct
from dashboards.selectors import port_name
from satisfaction.metrics.engine import too_few

register = template.Library()


@register.filter(name="port_label")
def port_name_filter(code: str) -> str:
    """``{{ code|port_label }}``: the port's name, 总体满意度 for the headline ("")."""
    return port_name(code)


@register.filter
def interval(row_or_low, high=None) -> str:
    """'78.0% – 83.2%' from (low, high); '—' when there is no interval (n = 0)."""
    if row_or_low is None or high is None:
        return "—"
    return f"{pct(row_or_low)} – {pct(high)}"


@register.simple_tag
def rate_td(rate, n=None, badge=True):
    """<td> with the rate as a percentage (one decimal) and the unrounded value in data-value; greyed if n < 30."""
    greyed = isinstance(n, int) and too_few(n)
    value = "" if rate in (None, "") else repr(float(rate))
    if greyed and badge:
        return format_html(
            '<td class="num too-few" data-value="{}">{} <span class="badge text-bg-secondary">{}</span></td>',
            value, pct(rate), _("样本不足"),
        )
    return format_html('<td class="num{}" data-value="{}">{}</td>', " too-few" if greyed else "", value, pct(rate))


@register.simple_tag
def n_td(n):
    n = n if isinstance(n, int) else 0
    return format_html('<td class="num{}" data-value="{}">{}</td>', " too-few" if too_few(n) else "", n, n)


@register.filter
def points(value) -> str:
    """A difference of two rates in percentage points: +2.3 / −1.0."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f}"
