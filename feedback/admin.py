from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from feedback.models import Callback, CallbackRule, CommentTheme, ExternalBenchmark, ExternalBenchmarkRow, Feedback

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
    list_display = ["name", "anchor", "months_after_move_in", "window_days", "is_active"]
    ordering = ["anchor", "months_after_move_in"]


@admin.register(CommentTheme)
class CommentThemeAdmin(admin.ModelAdmin):
    list_display = ["port", "name", "keywords", "position"]
    list_filter = ["port"]
    ordering = ["port", "position", "id"]


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
