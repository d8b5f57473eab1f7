"""API shapes of surveys, questions, responses and import jobs. Validation only: writes go through services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import CodeRelatedField
from core.logging import mask_phones
from departments.ports import PortCode
from owners.models import Owner, Project
from owners.selectors import owners_visible_to
from owners.stages import Stage
from surveys.answers import decode_answers
from surveys.models import (
    Channel,
    ImportJob,
    Question,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Survey,
    SurveySeries,
)
from surveys.selectors import survey_answer_questions


class SurveySerializer(serializers.ModelSerializer):
    """A wave. ``questionnaire`` names a questionnaire by code (its newest version when the wave is created or
    its questionnaire changed); ``questionnaire_version`` says which version the wave asks."""

    series = CodeRelatedField(
        slug_field="code", queryset=SurveySeries.objects.order_by("position", "code"), required=False,
        help_text="系列编码；缺省 = 与来源同名的系列",
    )
    source = serializers.ChoiceField(choices=Survey.Source.choices, required=False, help_text="缺省 = 系列的来源")
    questionnaire = serializers.CharField(
        source="questionnaire.code", required=False, default="standard", max_length=64,
        help_text="问卷编码（取其最新版本）"
    )
    questionnaire_version = serializers.IntegerField(source="questionnaire.version", read_only=True)
    target_projects = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Project.objects.order_by("code"), required=False,
        help_text="目标楼盘编码；空 = 全部楼盘",
    )
    target_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=Stage.choices), required=False, help_text="目标业主阶段；空 = 全部阶段"
    )
    is_closed = serializers.BooleanField(read_only=True)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Survey
        fields = [
            "id", "code", "name", "series", "source", "questionnaire", "questionnaire_version", "starts_on",
            "ends_on", "target_projects", "target_stages", "weighting", "is_closed", "closed_at", "closed_by",
            "created_at",
        ]
        read_only_fields = ["id", "closed_at", "created_at"]
        # Code uniqueness and every other rule are the services' (their messages are the product's).
        validators = []
        extra_kwargs = {"code": {"validators": []}}

    def validate(self, attrs):
        starts_on = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends_on = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError({"ends_on": "结束日期不能早于开始日期。"})
        return attrs

    def service_arguments(self) -> dict:
        """The validated data as ``survey_create`` / ``survey_update`` keywords (the instance's values fill in
        what a PATCH leaves out)."""
        data = dict(self.validated_data)
        instance = self.instance
        questionnaire = data.pop("questionnaire", None)
        code = questionnaire["code"] if questionnaire else None
        if instance is not None:
            if code is None or code == instance.questionnaire.code:
                code = instance.questionnaire  # unchanged: keep the version the wave asks
            current = {
                "code": instance.code, "name": instance.name, "source": instance.source, "series": instance.series,
                "starts_on": instance.starts_on, "ends_on": instance.ends_on,
                "target_projects": list(instance.target_projects.all()), "target_stages": instance.target_stages,
                "weighting": instance.weighting,
            }  # fmt: skip
            data = current | data
        data["questionnaire"] = code or "standard"
        return data


class QuestionSerializer(serializers.ModelSerializer):
    survey = serializers.SlugRelatedField(slug_field="code", read_only=True)
    port = serializers.ChoiceField(choices=[("", "核心指标"), *PortCode.choices], read_only=True, help_text="空 = 核心指标")
    in_answers = serializers.SerializerMethodField(help_text="是否为评分题（开放意见题不计入答案串和指标）")

    class Meta:
        model = Question
        fields = ["id", "survey", "code", "label", "kind", "port", "position", "required", "in_answers"]
        read_only_fields = fields

    def get_in_answers(self, question: Question) -> bool:
        return question.kind != Question.Kind.COMMENT


class SurveySeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveySeries
        fields = ["id", "code", "name", "source", "is_active", "position"]
        read_only_fields = fields


class QuestionnaireItemSerializer(serializers.ModelSerializer):
    port = serializers.ChoiceField(choices=[("", "无"), *PortCode.choices], read_only=True, help_text="空 = 不属于端口")

    class Meta:
        model = QuestionnaireItem
        fields = ["code", "label", "kind", "port", "position", "required"]
        read_only_fields = fields


class QuestionnaireSerializer(serializers.ModelSerializer):
    based_on = serializers.SerializerMethodField()
    frozen = serializers.SerializerMethodField(help_text="已有调查使用且有答卷：修改将生成新版本")
    items = QuestionnaireItemSerializer(many=True, read_only=True)

    class Meta:
        model = Questionnaire
        fields = ["id", "code", "version", "name", "based_on", "frozen", "created_at", "items"]
        read_only_fields = fields

    def get_based_on(self, questionnaire: Questionnaire) -> str | None:
        based_on = questionnaire.based_on
        return f"{based_on.code} v{based_on.version}" if based_on else None

    def get_frozen(self, questionnaire: Questionnaire) -> bool:
        frozen = getattr(questionnaire, "frozen", None)
        if frozen is None:
            from surveys.selectors import questionnaire_is_frozen

            frozen = questionnaire_is_frozen(questionnaire=questionnaire)
        return bool(frozen)


def _question_codes(context: dict, survey: Survey) -> list[str]:
    cache = context.setdefault("_question_codes", {})
    if survey.pk not in cache:
        cache[survey.pk] = [q.code for q in survey_answer_questions(survey=survey)]
    return cache[survey.pk]


HEADLINE_CODES = ("overall", "repurchase", "recommend")


@extend_schema_field(
    {
        "type": "object",
        # The three headline questions of every questionnaire must be answered (DESIGN §4).
        "properties": {code: {"type": "integer", "minimum": 1, "maximum": 5} for code in HEADLINE_CODES},
        "required": list(HEADLINE_CODES),
        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5, "nullable": True},
        "description": "题目编码 → 1–5 分，null = 未回答；overall、repurchase、recommend 必答",
    }
)
class ScoresField(serializers.Field):
    """The response's answer string as {question code: score or null}."""

    default_error_messages = {
        "not_a_dict": "scores 必须是对象：{{题目编码: 1–5 或 null}}。",
        "bad_score": "“{code}”的分数必须是 1–5 的整数或 null，收到 {value}。",
    }

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, instance: Response) -> dict:
        return decode_answers(_question_codes(self.parent.context, instance.survey), instance.answers)

    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        scores: dict[str, int | None] = {}
        for code, value in data.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
                self.fail("bad_score", code=code, value=repr(value))
            scores[str(code)] = value
        return {"scores": scores}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 2000},
        "description": "开放意见题编码 → 意见文字（空 = 无意见）；写入时只替换给出的题目",
    }
)
class CommentsField(serializers.Field):
    """The response's open comments as {comment question code: text}."""

    default_error_messages = {"not_a_dict": "comments 必须是对象：{{开放意见题编码: 文字}}。"}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(source="*", **kwargs)

    def to_representation(self, instance: Response) -> dict:
        comments = getattr(instance, "prefetched_comments", None)
        if comments is None:
            comments = list(instance.comments.select_related("question"))
        return {comment.question.code: comment.text for comment in comments}

    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict) or not all(isinstance(v, str | type(None)) for v in data.values()):
            self.fail("not_a_dict")
        return {"comments": {str(code): value or "" for code, value in data.items()}}


class ResponseSerializer(serializers.ModelSerializer):
    survey = CodeRelatedField(slug_field="code", queryset=Survey.objects.order_by("id"))
    owner = serializers.PrimaryKeyRelatedField(queryset=Owner.objects.none())
    project = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scores = ScoresField()
    comments = CommentsField()
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True, default="")

    class Meta:
        model = Response
        fields = [
            "id", "survey", "owner", "project", "questionnaire_no", "surveyed_on", "stage", "channel", "scores",
            "comments", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "project", "stage", "created_at", "updated_at"]
        # Uniqueness (survey + questionnaire number, survey + owner) is the service's: it updates an owner's response.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # An owner outside the user's scope is "not found", never written to.
            fields["owner"].queryset = owners_visible_to(request.user)
        if self.instance is not None and not isinstance(self.instance, list | tuple) and hasattr(self.instance, "pk"):
            # Survey and owner identify a response; they are fixed once it exists.
            fields["survey"].read_only = True
            fields["owner"].read_only = True
        return fields

    def validate(self, attrs):
        survey = attrs.get("survey") or getattr(self.instance, "survey", None)
        scores = attrs.get("scores")
        if survey is not None and scores is not None:
            unknown = sorted(set(scores) - set(_question_codes(self.context, survey)))
            if unknown:
                raise serializers.ValidationError({"scores": f"本次调查没有这些题目：{'、'.join(unknown)}"})
        return attrs


class ImportJobSerializer(serializers.ModelSerializer):
    survey = serializers.CharField(source="survey.code", read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    errors = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "kind", "survey", "file_name", "status", "progress", "total_rows", "created_count",
            "updated_count", "unchanged_count", "errors", "message", "created_by", "created_at", "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
    def get_errors(self, job: ImportJob) -> list:
        # An error quotes the offending cell, which may be a phone number: mask it like everywhere else.
        def clean(value):
            if isinstance(value, str):
                return mask_phones(value)
            if isinstance(value, dict):
                return {key: clean(item) for key, item in value.items()}
            if isinstance(value, list):
                return [clean(item) for item in value]
            return value

        return clean(job.errors or [])


class ImportJobSummarySerializer(ImportJobSerializer):
    """An import job in a list: the number of errors, not the errors (a bad file can have ten thousand)."""

    error_count = serializers.SerializerMethodField()

    class Meta(ImportJobSerializer.Meta):
        fields = [name for name in ImportJobSerializer.Meta.fields if name != "errors"] + ["error_count"]
        read_only_fields = fields

    def get_error_count(self, job: ImportJob) -> int:
        return len(job.errors or [])


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(k, ImportJob.Kind(k).label) for k in (ImportJob.Kind.RESPONSES, ImportJob.Kind.OWNERS)],
        default=ImportJob.Kind.RESPONSES,
    )
    survey = CodeRelatedField(
        slug_field="code", queryset=Survey.objects.order_by("id"), required=False, allow_null=True
    )
    file = serializers.FileField(help_text="xlsx、xls 或 csv")

    def validate(self, attrs):
        if attrs.get("kind") == ImportJob.Kind.RESPONSES and not attrs.get("survey"):
            raise serializers.ValidationError({"survey": "导入问卷答卷必须指定调查。"})
        return attrs


_FILE = {"type": "string", "format": "binary", "description": "xlsx、xls 或 csv（不超过 IMPORT_MAX_BYTES）"}
# The upload as the schema states it: answers need a survey, an owner roster none (what ``validate`` checks).
IMPORT_UPLOAD_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "title": "问卷答卷",
            "properties": {
                "kind": {"type": "string", "enum": ["responses"], "default": "responses"},
                "survey": {"type": "string", "minLength": 1, "maxLength": 64, "description": "调查编码"},
                "file": _FILE,
            },
            "required": ["survey", "file"],
        },
        {
            "type": "object",
            "title": "业主名册",
            "properties": {"kind": {"type": "string", "enum": ["owners"]}, "file": _FILE},
            "required": ["kind", "file"],
        },
    ]
}
