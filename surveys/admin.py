from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from surveys.models import (
    Callback,
    CallbackRule,
    ExternalBenchmark,
    ExternalBenchmarkRow,
    Feedback,
    ImportJob,
    Question,
    Response,
    Survey,
)


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    ordering = ["position"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "source", "starts_on", "ends_on"]
    search_fields = ["code", "name"]
    ordering = ["-starts_on", "code"]
    inlines = [QuestionInline]


@admin.register(Response)
class ResponseAdmin(SimpleHistoryAdmin):
    list_display = ["questionnaire_no", "survey", "project", "owner", "stage", "surveyed_on", "channel"]
    list_filter = ["survey", "stage", "channel", "project"]
    search_fields = ["questionnaire_no", "owner__name", "owner__unit"]
    list_select_related = ["survey", "project", "owner"]
    raw_id_fields = ["owner"]
    ordering = ["-id"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["file_name", "kind", "survey", "status", "created_by", "created_at", "created_count", "updated_count", "unchanged_count"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    ordering = ["-created_at"]


# Research bases: the callback rules are configured here (months after move-in, window); the rest is for support.


@admin.register(Feedback)
class FeedbackAdmin(SimpleHistoryAdmin):
    list_display = ["received_on", "kind", "port", "project", "unit", "severity", "status", "closed_on", "reference"]
    list_filter = ["kind", "port", "status", "severity"]
    search_fields = ["reference", "unit", "description"]
    list_select_related = ["project"]
    raw_id_fields = ["owner"]
    ordering = ["-received_on", "-id"]


@admin.register(CallbackRule)
class CallbackRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "months_after_move_in", "window_days", "is_active"]
    ordering = ["months_after_move_in"]


@admin.register(Callback)
class CallbackAdmin(SimpleHistoryAdmin):
    list_display = ["called_on", "owner", "rule", "outcome", "response"]
    list_filter = ["outcome", "rule"]
    raw_id_fields = ["owner", "response"]
    ordering = ["-called_on", "-id"]


class ExternalBenchmarkRowInline(admin.TabularInline):
    model = ExternalBenchmarkRow
    extra = 0
    ordering = ["port", "project", "stage"]


@admin.register(ExternalBenchmark)
class ExternalBenchmarkAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "report_on"]
    ordering = ["-report_on"]
    inlines = [ExternalBenchmarkRowInline]
