"""Survey waves, their questions, and the responses with their frozen stage and scores.

A response carries all its scores in one short string (``answers``): one character per question of its
survey, in question order, ``1``–``5`` for a score and ``-`` for not answered. A million responses are then
a million narrow rows, which PostgreSQL streams to the metrics engine in well under a second; one row per
answer would be 23 million rows. ``surveys.answers`` is its codec (the format is defined there only).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from departments.ports import PortCode
from owners.stages import Stage
from surveys.answers import ANSWERS_PATTERN


class Channel(models.TextChoices):
    PHONE = "phone", _("电话")
    ONLINE = "online", _("网络")
    VISIT = "visit", _("上门")
    PAPER = "paper", _("纸质")


class Survey(models.Model):
    class Source(models.TextChoices):
        GROUP = "group", _("集团调查")
        COMPANY = "company", _("公司调查")
        TOUCHPOINT = "touchpoint", _("触点调查")

    code = models.SlugField(_("调查编码"), max_length=64, unique=True)
    name = models.CharField(_("调查名称"), max_length=100)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.COMPANY)
    questionnaire = models.CharField(_("问卷"), max_length=32, default="standard")
    starts_on = models.DateField(_("开始日期"), null=True, blank=True)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调查")
        verbose_name_plural = _("调查")

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    class Kind(models.TextChoices):
        HEADLINE = "headline", _("核心指标")
        PORT = "port", _("端口总体")
        DETAIL = "detail", _("细项")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("调查"))
    code = models.CharField(_("编码"), max_length=64)
    label = models.CharField(_("题目"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices, blank=True)
    position = models.PositiveSmallIntegerField(_("顺序"))
    required = models.BooleanField(_("必答"), default=False)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="question_unique_survey_code"),
            models.UniqueConstraint(fields=["survey", "position"], name="question_unique_survey_position"),
            models.CheckConstraint(
                condition=models.Q(kind="headline", port="") | (~models.Q(kind="headline") & ~models.Q(port="")),
                name="question_port_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}（{self.code}）"


class Response(models.Model):
    # No index of its own: the unique (survey, questionnaire_no) index leads with it.
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("调查"), db_index=False
    )
    owner = models.ForeignKey(
        "owners.Owner", on_delete=models.PROTECT, related_name="responses", verbose_name=_("业主"), db_index=False
    )
    # Frozen with the stage at entry, so that the metrics read one narrow table.
    project = models.ForeignKey("owners.Project", on_delete=models.PROTECT, related_name="responses", verbose_name=_("楼盘"))
    questionnaire_no = models.CharField(_("问卷编号"), max_length=64)
    surveyed_on = models.DateField(_("调查日期"))
    stage = models.CharField(_("业主阶段"), max_length=16, choices=Stage.choices)
    channel = models.CharField(_("调查方式"), max_length=16, choices=Channel.choices, blank=True)
    answers = models.CharField(_("答案"), max_length=255)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # History is read by response id only; indexes on its foreign-key columns would only slow bulk imports.
    history = HistoricalRecords(excluded_fields=["updated_at"], no_db_index=["survey", "owner", "project"])

    class Meta:
        verbose_name = _("问卷答卷")
        verbose_name_plural = _("问卷答卷")
        constraints = [
            models.UniqueConstraint(fields=["survey", "questionnaire_no"], name="response_unique_survey_questionnaire_no"),
            # Owner first, so that this index also serves the owner foreign key (no separate owner index).
            models.UniqueConstraint(fields=["owner", "survey"], name="response_unique_owner_survey"),
            models.CheckConstraint(condition=models.Q(answers__regex=ANSWERS_PATTERN), name="response_answers_scores_1_to_5"),
        ]
        indexes = [models.Index(fields=["survey", "project", "stage"])]

    def __str__(self) -> str:
        return f"{self.survey.code} · {self.questionnaire_no}"


class ImportJob(models.Model):
    """One uploaded file and what became of it (the import history)."""

    class Kind(models.TextChoices):
        RESPONSES = "responses", _("问卷答卷")
        OWNERS = "owners", _("业主名册")
        FEEDBACK = "feedback", _("客户反馈")

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("导入中")
        SUCCEEDED = "succeeded", _("已导入")
        FAILED = "failed", _("有错误，未写入")
        UNCHANGED = "unchanged", _("文件未变化")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.RESPONSES)
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.PROTECT, related_name="imports", verbose_name=_("调查"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("导入人"))
    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    total_rows = models.PositiveIntegerField(_("行数"), default=0)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    unchanged_count = models.PositiveIntegerField(_("未变化"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    message = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"
