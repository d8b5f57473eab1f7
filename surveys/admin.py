from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from surveys.models import ImportJob, Question, Response, Survey


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
