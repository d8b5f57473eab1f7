"""Admin of online answering: invitations read-only (links live on the wave's page), the send record read-only
(recipients masked), project links (revocable), reminder schedules, owners' contacts."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from online.models import OutboundMessage, OwnerMessaging, ProjectLink, ReminderPolicy, SurveyInvitation


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    """Read-only: links are issued and revoked on the wave's invitations page (online.services), never edited here."""

    list_display = ("survey", "owner", "created_at", "opened_at", "answered_at", "revoked_at")
    list_filter = ("survey",)
    list_select_related = ("survey", "owner")
    search_fields = ("owner__unit", "owner__name")
    ordering = ("-created_at", "-id")
    exclude = ("token",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.action(description=_("作废所选楼盘二维码链接（再次打印海报会生成新链接）"))
def project_links_revoke(modeladmin, request, queryset):
    queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(ProjectLink)
class ProjectLinkAdmin(admin.ModelAdmin):
    """Read-only but for revoking: a poster's link that leaked is voided here; the next poster printed gets a new one."""

    list_display = ["survey", "project", "created_at", "revoked_at"]
    list_filter = ["survey"]
    list_select_related = ["survey", "project"]
    fields = ["survey", "project", "created_at", "revoked_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    actions = [project_links_revoke]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None  # the list and its action; no edit form
