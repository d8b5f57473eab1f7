"""Django admin for surveys: for the administrator to look and mend, never a way around the rules.

Each response keeps its answers as one character per question in question order, so once a survey has responses its
questions keep their order, codes, kinds and ports. A response saved or deleted here goes through the same services as
keyed entry, imports and the API: validation, the stage frozen as of the survey date, history, and the recompute.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from surveys.answers import decode_answers
from surveys.models import (
    ANSWERS_PATTERN,
    ImportJob,
    Question,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Survey,
    SurveySeries,
)
from surveys.selectors import survey_answer_questions
from surveys.services import response_check, response_submit, responses_delete

# What an answer string's position means: fixed once a survey has responses.
POSITIONAL_FIELDS = ["position", "code", "kind", "port"]


def _has_responses(survey: Survey | None) -> bool:
    return survey is not None and survey.pk is not None and Response.objects.filter(survey=survey).exists()


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    ordering = ["position"]

    def get_readonly_fields(self, request, obj=None):
        return POSITIONAL_FIELDS if _has_responses(obj) else []

    def has_add_permission(self, request, obj=None):
        return not _has_responses(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _has_responses(obj) and super().has_delete_permission(request, obj)


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """Waves are created, changed, closed and reopened on the wave pages (调查管理), whose services copy the
    questionnaire's questions and apply every rule; here the administrator mends a name or a question's text."""

    list_display = ["code", "name", "series", "source", "starts_on", "ends_on", "closed_at"]
    list_filter = ["series", "source"]
    search_fields = ["code", "name"]
    ordering = ["-starts_on", "code"]
    inlines = [QuestionInline]

    def has_add_permission(self, request):
        # Waves are created on the wave pages (调查管理), whose service copies the questionnaire's questions.
        return False

    def get_readonly_fields(self, request, obj=None):
        # Series, period, questionnaire, targets and the closed state change on the wave pages, through the services.
        return [f.name for f in Survey._meta.fields if f.name != "name"] + ["target_projects"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        survey = self.get_object(request, object_id)
        if request.method == "GET" and _has_responses(survey):
            messages.warning(
                request,
                gettext(
                    "本调查已有答卷。每份答卷按题目顺序保存答案，因此题目的顺序、编码、类型和端口不能再修改，"
                    "也不能增删题目；题目文字和是否必答仍可修改。"
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)


class QuestionnaireItemInline(admin.TabularInline):
    model = QuestionnaireItem
    extra = 0
    ordering = ["position"]


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    """Read-only here: questionnaires are edited on the questionnaire pages, where a frozen version makes a new one."""

    list_display = ["code", "version", "name", "based_on", "created_at"]
    ordering = ["code", "-version"]
    inlines = [QuestionnaireItemInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SurveySeries)
class SurveySeriesAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "source", "is_active", "position"]
    ordering = ["position", "code"]


class ResponseAdminForm(forms.ModelForm):
    """The answers typed as the answer string; checked as every other path checks a questionnaire."""

    class Meta:
        model = Response
        fields = ["survey", "owner", "questionnaire_no", "surveyed_on", "channel", "answers"]
        help_texts = {"answers": _("每题一个字符，按题目顺序：1–5 为分数，“-”为未答。")}

    def clean(self):
        cleaned = super().clean()
        survey = cleaned.get("survey") or self.instance.survey
        owner = cleaned.get("owner") or self.instance.owner
        answers = cleaned.get("answers")
        if answers is None or "questionnaire_no" not in cleaned:
            return cleaned
        codes = [question.code for question in survey_answer_questions(survey=survey)]
        if len(answers) != len(codes) or not re.fullmatch(ANSWERS_PATTERN, answers):
            self.add_error(
                "answers",
                gettext("本调查有 %(count)d 道题，答案须为 %(count)d 个字符（1–5 或 -），现为 %(length)d 个。")
                % {"count": len(codes), "length": len(answers)},
            )
            return cleaned
        self.scores = decode_answers(codes, answers)
        try:
            response_check(survey=survey, owner=owner, questionnaire_no=cleaned["questionnaire_no"], scores=self.scores)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                self.add_error("answers" if field == "scores" else field, problems)
        return cleaned


@admin.register(Response)
class ResponseAdmin(SimpleHistoryAdmin):
    form = ResponseAdminForm
    list_display = ["questionnaire_no", "survey", "project", "owner", "stage", "surveyed_on", "channel"]
    list_filter = ["survey", "stage", "channel", "project"]
    search_fields = ["questionnaire_no", "owner__name", "owner__unit"]
    list_select_related = ["survey", "project", "owner"]
    raw_id_fields = ["owner"]
    ordering = ["-id"]

    def get_fields(self, request, obj=None):
        fields = ["survey", "owner", "project", "questionnaire_no", "surveyed_on", "stage", "channel", "answers"]
        return [*fields, "question_order"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        # The project is the owner's and the stage is frozen from the move-in date; a saved response stays the
        # same owner's answer to the same survey (delete it and enter the right one instead).
        derived = ["project", "stage"]
        return ["survey", "owner", *derived, "question_order"] if obj is not None else derived

    @admin.display(description=_("题目顺序"))
    def question_order(self, obj: Response) -> str:
        return " · ".join(f"{i}. {q.code}" for i, q in enumerate(survey_answer_questions(survey=obj.survey), start=1))

    def save_model(self, request, obj, form, change):
        saved, _created = response_submit(
            survey=obj.survey,
            owner=obj.owner,
            questionnaire_no=obj.questionnaire_no,
            surveyed_on=obj.surveyed_on,
            scores=form.scores,
            channel=obj.channel,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request, obj):
        responses_delete(responses=[obj])

    def delete_queryset(self, request, queryset):
        responses_delete(responses=queryset.select_related(None).order_by("pk"))


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """The import history is a record: read here, written only by imports."""

    list_display = ["file_name", "kind", "survey", "status", "created_by", "created_at", "created_count", "updated_count", "unchanged_count"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    ordering = ["-created_at"]

    def has_add_permission(self, request):
        return False
