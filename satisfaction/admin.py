"""Computed numbers and their runs, for the administrator to read: they change only by a recompute."""

from django.contrib import admin

from satisfaction.models import MetricRun, MetricSnapshot


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(admin.ModelAdmin):
    list_display = ["survey", "port", "project", "stage", "n", "satisfaction_rate", "loyalty_rate", "computed_at"]
    list_filter = ["survey", "port", "stage"]
    list_select_related = ["survey", "project"]
    ordering = ["survey", "port", "project", "stage"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MetricRun)
class MetricRunAdmin(admin.ModelAdmin):
    """A run's state decides whether pages say "computing" and whether a recompute is queued: never set by hand."""

    list_display = ["survey", "status", "requested_at", "started_at", "finished_at", "responses"]
    list_filter = ["status", "survey"]
    ordering = ["-requested_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
