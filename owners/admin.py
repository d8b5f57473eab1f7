from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from owners.models import Owner, PhoneAccessLog, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "unit_count"]
    search_fields = ["code", "name"]
    ordering = ["code"]


@admin.register(Owner)
class OwnerAdmin(SimpleHistoryAdmin):
    list_display = ["project", "unit", "name", "masked_phone", "move_in_date"]
    list_filter = ["project"]
    search_fields = ["unit", "name"]
    list_select_related = ["project"]
    ordering = ["project__code", "unit"]
    autocomplete_fields = ["project"]


@admin.register(PhoneAccessLog)
class PhoneAccessLogAdmin(admin.ModelAdmin):
    """The reveal log is evidence: administrators read it, nobody edits or deletes it."""

    list_display = ["accessed_at", "user", "owner", "where", "ip_address"]
    list_filter = ["accessed_at"]
    search_fields = ["user__username", "where"]
    list_select_related = ["user", "owner", "owner__project"]
    ordering = ["-accessed_at"]
    readonly_fields = ["accessed_at", "user", "owner", "where", "ip_address"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
