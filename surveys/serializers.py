"""API shapes of surveys, questions, responses and import jobs. Validation only: writes go through services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import CodeRelatedField
from core.logging import mask_phones
from departments.ports import PortCode
from owners.models import Owner
from owners.selectors import owners_visible_to
from surveys.answers import decode_answers
from surveys.models import Channel, ImportJob, Question, Response, Survey
from surveys.questionnaires import QUESTIONNAIRES
from surveys.selectors import survey_answer_questions


class SurveySerializer(serializers.ModelSerializer):
    questionnaire = serializers.ChoiceField(choices=sorted(QUESTIONNAIRES), default="standard", help_text="问卷模板")

    class Meta:
        model = Survey
        fields = ["id", "code", "name", "source", "questionnaire", "starts_on", "ends_on", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        starts_on, ends_on = attrs.get("starts_on"), attrs.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError({"ends_on": "结束日期不能早于开始日期。"})
        return attrs


class QuestionSerializer(serializers.ModelSerializer):
    survey = serializers.SlugRelatedField(slug_field="code", read_only=True)
    port = serializers.ChoiceField(choices=[("", "核心指标"), *PortCode.choices], read_only=True, help_text="空 = 核心指标")

    class Meta:
        model = Question
        fields = ["id", "survey", "code", "label", "kind", "port", "position", "required"]
        read_only_fields = fields


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


class ResponseSerializer(serializers.ModelSerializer):
    survey = CodeRelatedField(slug_field="code", queryset=Survey.objects.order_by("id"))
    owner = serializers.PrimaryKeyRelatedField(queryset=Owner.objects.none())
    project = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scores = ScoresField()
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True, default="")

    class Meta:
        model = Response
        fields = [
            "id", "survey", "owner", "project", "questionnaire_no", "surveyed_on", "stage", "channel", "scores",
            "created_at", "updated_at",
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
