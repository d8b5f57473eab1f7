"""``{% feedback_panel port survey %}``: the feedback-evidence panel for any page that knows its port and survey
(the port dashboard includes it), scoped to the requesting user."""

from django import template

from feedback.selectors import feedback_port_panel

register = template.Library()


@register.inclusion_tag("feedback/port_panel.html", takes_context=True)
def feedback_panel(context, port: str, survey=None) -> dict:
    request = context.get("request")
    if request is None:
        return {"feedback_evidence": None}
    return feedback_port_panel(port=port, survey=survey, user=request.user)
