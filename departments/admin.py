from django.contrib import admin

from departments.models import Department, Membership, Port, WorkingGroup
from departments.ports import port_rank


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "coordinates_all_ports"]
    search_fields = ["name", "code"]
    inlines = [MembershipInline]


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "owner"]
    filter_horizontal = ["monitors"]
    ordering = [port_rank()]  # the procedure's order, departments.ports.PORTS


@admin.register(WorkingGroup)
class WorkingGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "starts_on", "ends_on"]
    list_filter = ["kind"]
    filter_horizontal = ["members"]
