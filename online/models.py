"""Owners answering a wave online: one personal invitation (an unguessable, revocable token) per owner and wave.

The token is stored as issued, so that staff can download the same links (and print the same QR codes) again;
it is the owner's key to their own questionnaire of that wave only, nothing else.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyInvitation(models.Model):
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.CASCADE, related_name="invitations", verbose_name=_("调查")
    )
    owner = models.ForeignKey(
        "owners.Owner", on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("业主")
    )
    token = models.CharField(_("令牌"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("生成人"),
    )
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("作废人"),
    )
    opened_at = models.DateTimeField(_("首次打开时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("首次提交时间"), null=True, blank=True)
    last_answered_at = models.DateTimeField(_("最近提交时间"), null=True, blank=True)
    privacy_accepted_at = models.DateTimeField(_("同意隐私说明时间"), null=True, blank=True)
    response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("答卷"),
    )

    class Meta:
        verbose_name = _("答卷邀请")
        verbose_name_plural = _("答卷邀请")
        constraints = [
            # One live link per owner and wave: issuing again reuses it; a revoked one may be followed by a new one.
            models.UniqueConstraint(
                fields=["survey", "owner"], condition=models.Q(revoked_at__isnull=True),
                name="invitation_one_live_per_owner_survey",
            ),
        ]
        indexes = [models.Index(fields=["survey", "owner"])]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.owner_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
