from django.contrib import admin

from online.models import SurveyInvitation


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
