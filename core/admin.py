from django.contrib import admin

from core.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Issued API tokens (their digests only): administrators see who holds which and may end one by deleting it."""

    list_display = ["user", "client", "prefix", "created_at", "expires_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "client"]
    ordering = ["-created_at"]
    fields = readonly_fields = ["user", "client", "prefix", "created_at", "expires_at", "last_used_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
