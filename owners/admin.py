from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from owners.models import Owner, Project


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
