"""What the digests have sent, for the administrator: read-only, except that deleting a row lets that user get that
month's digest again on the beat's next run."""

from django.contrib import admin

from reports.models import DigestSent


@admin.register(DigestSent)
class DigestSentAdmin(admin.ModelAdmin):
    list_display = ("period", "user", "role", "survey", "sent_at")
    list_filter = ("period", "role")
    search_fields = ("user__username", "user__email")
    ordering = ("-period", "user__username")
    readonly_fields = ("user", "period", "survey", "role", "sent_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
