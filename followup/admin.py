from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from followup.models import AlertRule, PortSla, Ticket, TicketNote


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "survey", "series", "threshold", "port", "is_active")
    list_filter = ("kind", "is_active")


@admin.register(PortSla)
class PortSlaAdmin(admin.ModelAdmin):
    list_display = ("port", "due_hours", "management_after_hours")


class TicketNoteInline(admin.TabularInline):
    model = TicketNote
    extra = 0
    readonly_fields = ("author", "text", "created_at")


@admin.register(Ticket)
class TicketAdmin(SimpleHistoryAdmin):
    list_display = ("id", "port", "project", "status", "assignee", "due_at", "escalation")
    list_filter = ("status", "port", "escalation", "source")
    raw_id_fields = ("owner", "response", "feedback", "assignee")
    readonly_fields = ("opened_at",)
    inlines = [TicketNoteInline]
