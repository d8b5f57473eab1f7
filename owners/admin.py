from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.auth_events import client_ip
from owners.models import Owner, PhoneAccessLog, Project
from owners.privacy import phone_reveal
from owners.selectors import user_may_reveal_phone


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
    readonly_fields = ["phone_masked", "anonymised_at"]

    # The phone is shown masked, as everywhere; "?reveal=phone" shows it in full (and editable) to a user with
    # owners.view_full_phone, leaving a PhoneAccessLog row, as the API's reveal does.
    @admin.display(description=_("联系电话"))
    def phone_masked(self, owner):
        if owner is None or not owner.phone:
            return "-"
        return format_html('{} <a href="?reveal=phone">{}</a>', owner.masked_phone, _("查看完整号码（需权限，留痕）"))

    def get_fields(self, request, obj=None):
        fields = ["project", "unit", "name", "phone", "contract_date", "move_in_date", "anonymised_at"]
        if obj is not None and not self._revealing(request):
            fields[fields.index("phone")] = "phone_masked"
        return fields

    @staticmethod
    def _revealing(request) -> bool:
        return request.GET.get("reveal") == "phone" and user_may_reveal_phone(request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and self._revealing(request):
            owner = self.get_object(request, unquote(object_id))
            if owner is not None and self.has_view_or_change_permission(request, owner):
                phone_reveal(
                    user=request.user, owner=owner, where=f"admin {request.get_full_path()}",
                    ip_address=client_ip(request), now=timezone.now(),
                )
        return super().change_view(request, object_id, form_url, extra_context)


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
