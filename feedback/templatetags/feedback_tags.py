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


@register.inclusion_tag("feedback/themes_panel.html", takes_context=True)
def comment_themes_panel(context, port: str, survey=None) -> dict:
    """Open-comment themes of a port in a survey (``feedback.themes``); scope is the including page's (the port
    dashboard let the user see this port)."""
    from departments.ports import port_label
    from feedback.themes import LOW_SCORE_MAX, port_comment_themes

    return {
        "themes": port_comment_themes(survey=survey, port=port),
        "port": port,
        "port_label": port_label(port),
        "survey": survey,
        "low_max": LOW_SCORE_MAX,
    }
