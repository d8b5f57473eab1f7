"""Survey waves and their series, questionnaires (versioned templates) and questions, and the responses with
their frozen stage, scores and open comments.

A response carries all its scores in one short string (``answers``): one character per score question of its
survey (open comment questions are not in it), in question order, ``1``–``5`` for a score and ``-`` for not
answered. A million responses are then a million narrow rows, which PostgreSQL streams to the metrics engine in
well under a second; one row per answer would be 23 million rows. ``surveys.answers`` is its codec (the format is defined there only);
``surveys.selectors.survey_answer_questions`` says which questions it covers. Open comments live beside it
(``ResponseComment``), never in the rates.
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


class SurveySource(models.TextChoices):
    GROUP = "group", _("集团调查")
    COMPANY = "company", _("公司调查")
    TOUCHPOINT = "touchpoint", _("触点调查")


class QuestionKind(models.TextChoices):
    HEADLINE = "headline", _("核心指标")
    PORT = "port", _("端口总体")
    DETAIL = "detail", _("细项")
    COMMENT = "comment", _("开放意见")


# Score questions (``surveys.answers.SCORE_KINDS``) are in the answer string; comment questions are not.
COMMENT_MAX_LENGTH = 2000


def _port_matches_kind(prefix: str = "") -> models.Q:
    """A headline item has no port, a port or detail item has one, an open comment may name one or not."""
    kind, port = f"{prefix}kind", f"{prefix}port"
    return (
        models.Q(**{kind: QuestionKind.HEADLINE, port: ""})
        | models.Q(**{kind: QuestionKind.COMMENT})
        | (models.Q(**{f"{kind}__in": [QuestionKind.PORT, QuestionKind.DETAIL]}) & ~models.Q(**{port: ""}))
    )


class SurveySeries(models.Model):
    """A line of comparable waves: the company's annual survey, the group's third-party survey, one kind of
    touch-point survey (handover, repair, callback, …). A wave's change is read against the previous wave of
    its own series only (DESIGN.md §2 "Change")."""

    code = models.SlugField(_("系列编码"), max_length=32, unique=True)
    name = models.CharField(_("系列名称"), max_length=100)
    source = models.CharField(_("来源"), max_length=16, choices=SurveySource.choices)
    is_active = models.BooleanField(_("启用"), default=True)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("调查系列")
        verbose_name_plural = _("调查系列")

    def __str__(self) -> str:
        return self.name


class Questionnaire(models.Model):
    """One version of a questionnaire template. A version that a wave with responses uses is frozen: editing it
    makes the next version (``surveys.services.questionnaire_save``); the waves keep their own copy of the
    questions (``Question``), so no stored answer ever changes meaning."""

    code = models.SlugField(_("问卷编码"), max_length=64)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("问卷名称"), max_length=100)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("复制自")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("创建人"),
    )

    class Meta:
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="questionnaire_unique_code_version")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code} v{self.version}）"


class QuestionnaireItem(models.Model):
    """One item of a questionnaire version, copied into each wave that uses it."""

    Kind = QuestionKind

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="items", verbose_name=_("问卷")
    )
    code = models.CharField(_("编码"), max_length=64)
    label = models.CharField(_("题目"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=QuestionKind.choices)
    port = models.CharField(_("端口"), max_length=16, choices=PortCode.choices, blank=True)
    position = models.PositiveSmallIntegerField(_("顺序"))
    required = models.BooleanField(_("必答"), default=False)

    class Meta:
        verbose_name = _("问卷题目")
        verbose_name_plural = _("问卷题目")
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "code"], name="questionnaire_item_unique_code"),
            models.UniqueConstraint(fields=["questionnaire", "position"], name="questionnaire_item_unique_position"),
            models.CheckConstraint(condition=_port_matches_kind(), name="questionnaire_item_port_matches_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.label}（{self.code}）"


class Survey(models.Model):
    """A wave: when it is in the field, which series it continues, which questionnaire version it asks, whom it
    targets (projects and owner stages; empty = all), whether it is weighted, and whether it is closed."""

    Source = SurveySource

    class Weighting(models.TextChoices):
        NONE = "none", _("不加权")
        POPULATION = "population", _("按业主总体加权")

    code = models.SlugField(_("调查编码"), max_length=64, unique=True)
    name = models.CharField(_("调查名称"), max_length=100)
    series = models.ForeignKey(SurveySeries, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("系列"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.COMPANY)
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("问卷版本")
    )
    starts_on = models.DateField(_("开始日期"), null=True, blank=True)
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    target_projects = models.ManyToManyField(
        "owners.Project", blank=True, related_name="+", verbose_name=_("目标楼盘"), help_text=_("不选 = 全部楼盘")
    )
    target_stages = models.JSONField(_("目标业主阶段"), default=list, blank=True, help_text=_("空 = 全部阶段"))
    weighting = models.CharField(_("加权"), max_length=16, choices=Weighting.choices, default=Weighting.NONE)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("关闭人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调查")
        verbose_name_plural = _("调查")

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Question(models.Model):
    """A wave's own copy of one questionnaire item; score questions' positions order the answer string."""

    Kind = QuestionKind

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
            models.CheckConstraint(condition=_port_matches_kind(), name="question_port_matches_kind"),
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


class ResponseComment(models.Model):
    """The text an owner wrote for an open comment question of the response's survey (never in the rates)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="comments", verbose_name=_("答卷"))
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+", verbose_name=_("题目"))
    text = models.TextField(_("意见"), max_length=COMMENT_MAX_LENGTH)
    history = HistoricalRecords(no_db_index=["question"])

    class Meta:
        verbose_name = _("开放意见")
        verbose_name_plural = _("开放意见")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="response_comment_unique_question"),
        ]

    def __str__(self) -> str:
        return self.text[:40]


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
    # What the import created besides responses, so that its result page and the history can name them.
    created_projects = models.JSONField(_("新建楼盘"), default=list, blank=True, help_text=_("[[编码, 名称], …]"))
    created_owners = models.JSONField(
        _("新建业主"), default=list, blank=True, help_text=_("[[楼盘编码, 房号, 姓名], …]，最多保存前 1000 位")
    )
    created_owner_count = models.PositiveIntegerField(_("新建业主数"), default=0)
    message = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"
