"""The metrics' reading rules in templates: when a figure's base is too few to read (``engine.too_few``)."""

from django import template

from satisfaction.metrics.engine import TOO_FEW_N, too_few

register = template.Library()


@register.filter(name="too_few")
def too_few_filter(n) -> bool:
    """``{% if row.n|too_few %}``: greyed as 样本不足; a missing figure (None, no row) is not judged."""
    return isinstance(n, int) and not isinstance(n, bool) and too_few(n)


@register.simple_tag
def too_few_n() -> int:
    """The base below which figures are greyed, for the pages' explanations (``{% too_few_n as limit %}``)."""
    return TOO_FEW_N
