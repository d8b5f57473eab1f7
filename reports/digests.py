"""The monthly digest: one e-mail per reader and month, by role, with the report pack attached.

Management gets the company figures, the targets' verdicts, the plans waiting for their approval and the overdue
follow-up tickets (the follow-up app's selection, with their escalation); a department head gets their ports'
figures, verdicts and overdue tickets. Each user may turn the kind off on /accounts/notifications/. ``DigestSent``
(unique per user and period) makes a run idempotent: the row is written in the same transaction as the mail is
handed to the mail server, so a failed send is retried by the next run and a sent one is never repeated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.notifications import notification_recipients
from dashboards.selectors import dashboard_ports_for, dashboard_targets, port_name, target_check
from departments.models import Role
from departments.selectors import user_has_role
from improvement_plans.selectors import plans_awaiting_review
from reports.models import DigestSent
from reports.selectors import Weighted, overdue_tickets, weighted_of
from reports.services import report_pack_pdf, safe_filename
from satisfaction.models import MetricSnapshot
from surveys.models import Survey
from surveys.selectors import survey_latest

logger = logging.getLogger(__name__)

DIGEST_KIND = "monthly_digest"
MANAGEMENT, HEAD = "management", "department_head"


def digest_period(today: date) -> str:
    """The month a digest sent on ``today`` reports: the calendar month before it ("2026-11" in December)."""
    last_month = today.replace(day=1) - timedelta(days=1)
    return f"{last_month:%Y-%m}"


def digest_audience() -> list[tuple[object, str]]:
    """(user, role) of everyone who gets a digest: active management, and active department heads who see at least
    one port (a head who is also management gets the management digest)."""
    User = get_user_model()
    users = User.objects.filter(is_active=True, groups__name__in=[Role.MANAGEMENT, Role.DEPARTMENT_HEAD]).distinct()
    audience = []
    for user in users.order_by("id"):
        if user_has_role(user, Role.MANAGEMENT):
            audience.append((user, MANAGEMENT))
        elif dashboard_ports_for(user):
            audience.append((user, HEAD))
    return audience


@dataclass(frozen=True)
class DigestLine:
    label: str
    rate: float | None
    low: float | None
    high: float | None
    n: int
    verdict: str
    weighted: Weighted | None = None  # when the wave is weighted (issue 15): shown labelled 加权


@dataclass
class Digest:
    user: object
    role: str
    period: str
    survey: Survey
    ports: list[str]
    lines: list[DigestLine] = field(default_factory=list)
    approvals: list = field(default_factory=list)
    escalations: list = field(default_factory=list)


def digest_for(*, user, role: str, survey: Survey, period: str, now: datetime) -> Digest:
    """What one reader's digest says, from the wave's whole-survey snapshots (headline, loyalty, their ports)."""
    ports = dashboard_ports_for(user)
    targets = dashboard_targets(survey=survey)
    rows = {
        row.port: row
        for row in MetricSnapshot.objects.filter(survey=survey, project__isnull=True, stage="", port__in=["", *ports])
    }
    lines = []
    headline = rows.get("")
    company = targets.get("company", {})
    if headline is not None:
        lines.append(_line(_("总体满意度"), headline.satisfaction_rate, headline.satisfaction_ci_low,
                           headline.satisfaction_ci_high, headline.n, company.get("satisfaction"), weighted_of(headline)))
        lines.append(_line(_("忠诚度"), headline.loyalty_rate, headline.loyalty_ci_low, headline.loyalty_ci_high,
                           headline.loyalty_base or 0, company.get("loyalty"), weighted_of(headline, loyalty=True)))
    for port in ports:
        row = rows.get(port)
        if row is not None:
            lines.append(_line(port_name(port), row.satisfaction_rate, row.satisfaction_ci_low, row.satisfaction_ci_high,
                               row.n, targets.get("ports", {}).get(port), weighted_of(row)))
    return Digest(
        user=user, role=role, period=period, survey=survey, ports=ports, lines=lines,
        approvals=plans_awaiting_review(user=user) if role == MANAGEMENT else [],
        escalations=overdue_tickets(user=user, ports=ports, now=now),
    )


def _line(label, rate, low, high, n, target, weighted=None) -> DigestLine:
    return DigestLine(label, rate, low, high, n, target_check(low, high, target).label, weighted)


def _send_one(*, digest: Digest, address: str, pack: bytes, now: datetime) -> bool:
    """Claim (user, period) and mail the digest in one transaction; False when it was already claimed."""
    subject = _("月度满意度摘要 · %(period)s · %(survey)s") % {"period": digest.period, "survey": digest.survey.name}
    body = render_to_string("reports/digest_email.txt", {"digest": digest, "DIGEST_MANAGEMENT": MANAGEMENT})
    try:
        with transaction.atomic():
            DigestSent.objects.create(user=digest.user, period=digest.period, survey=digest.survey, role=digest.role,
                                      sent_at=now)
            message = EmailMessage(subject, body, None, [address])
            message.attach(safe_filename(f"report-pack-{digest.survey.code}", ".pdf"), pack, "application/pdf")
            message.send(fail_silently=False)
    except IntegrityError:
        return False
    return True


def digests_send(*, now: datetime) -> int:
    """Send this period's digest to everyone due one who has not had it and has not turned it off; the number sent.
    Safe to run any number of times a month (the beat runs it daily)."""
    today = timezone.localdate(now)
    period = digest_period(today)
    survey = survey_latest()
    if survey is None:
        logger.info("monthly digest %s: no survey yet, nothing sent", period)
        return 0
    already = set(DigestSent.objects.filter(period=period).values_list("user_id", flat=True))
    packs: dict[tuple, bytes] = {}
    sent = 0
    for user, role in digest_audience():
        if user.pk in already:
            continue
        addresses = notification_recipients(users=[user], kind=DIGEST_KIND)
        if not addresses:
            continue
        with override(settings.LANGUAGE_CODE):
            digest = digest_for(user=user, role=role, survey=survey, period=period, now=now)
            key = (role, tuple(digest.ports))
            if key not in packs:
                packs[key] = report_pack_pdf(user=user, survey=survey, now=now)
            if _send_one(digest=digest, address=addresses[0], pack=packs[key], now=now):
                sent += 1
    logger.info("monthly digest %s: %d sent", period, sent)
    return sent
