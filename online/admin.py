"""Admin of messages to owners: the send record read-only (recipients masked), reminder schedules, contacts."""

from django.contrib import admin

from online.models import OutboundMessage, OwnerMessaging, ReminderPolicy


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "survey", "owner", "recipient", "channel", "template", "status", "sent_at", "error"]
    list_filter = ["channel", "template", "status"]
    list_select_related = ["survey", "owner"]
    fields = list_display + ["not_before", "provider_id", "created_by"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    list_display = ["survey", "enabled", "channel", "first_after_days", "interval_days", "max_reminders"]
    list_select_related = ["survey"]
    ordering = ["-survey_id"]


@admin.register(OwnerMessaging)
class OwnerMessagingAdmin(admin.ModelAdmin):
    list_display = ["owner", "opted_out_at"]
    raw_id_fields = ["owner"]
    fields = ["owner", "email", "opted_out_at"]
    ordering = ["owner_id"]
