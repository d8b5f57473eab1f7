"""A signed-in user's own settings page: which e-mail notifications they receive."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.notifications import notification_disabled_kinds, notification_kinds, notification_set


class NotificationSettingsForm(forms.Form):
    """One checkbox per registered kind of notification."""

    def __init__(self, *args, disabled: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        for kind in notification_kinds():
            self.fields[kind.code] = forms.BooleanField(
                label=kind.label, help_text=kind.help_text, required=False, initial=kind.code not in disabled
            )
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", gettext_lazy("保存")))


@require_http_methods(["GET", "POST"])
def notification_settings(request):
    disabled = notification_disabled_kinds(user=request.user)
    form = NotificationSettingsForm(request.POST if request.method == "POST" else None, disabled=disabled)
    if request.method == "POST" and form.is_valid():
        for code, enabled in form.cleaned_data.items():
            notification_set(user=request.user, kind=code, enabled=enabled)
        messages.success(request, _("通知设置已保存"))
        return redirect("notification_settings")
    return render(request, "core/notification_settings.html", {"form": form, "has_email": bool(request.user.email)})
