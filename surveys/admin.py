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

    # Every write tells the metrics (surveys.events): a change here shows in the numbers like any other.
    def save_model(self, request, obj, form, change):
        from django.db import transaction

        from surveys.events import ResponseChange, response_state, responses_changed_send

        with transaction.atomic():
            before = None
            if change:
                stored = Response.objects.select_for_update().filter(pk=obj.pk).first()
                before = response_state(stored) if stored is not None else None
                if stored is not None and stored.survey_id != obj.survey_id:  # moved to another survey
                    responses_changed_send(survey_id=stored.survey_id, changes=[ResponseChange(before, None)])
                    before = None
            super().save_model(request, obj, form, change)
            responses_changed_send(survey_id=obj.survey_id, changes=[ResponseChange(before, response_state(obj))])

    def delete_model(self, request, obj):
        from surveys.services import response_delete

        response_delete(response=obj)

    def delete_queryset(self, request, queryset):
        from surveys.services import response_delete

        for response in queryset:
            response_delete(response=response)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["file_name", "kind", "survey", "status", "created_by", "created_at", "created_count", "updated_count", "unchanged_count"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    ordering = ["-created_at"]
