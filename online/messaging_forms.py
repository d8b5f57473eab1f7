"""Forms of invitations by message, reminder schedules, printing QR codes and the project link's check."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper
from online.forms import InvitationIssueForm
from online.models import MessageChannel, ReminderPolicy
from owners.models import Project


class InvitationSendForm(InvitationIssueForm):
    """Whom to invite (the wave's un-answered owners, one project's, or some units) and by which channel."""

    channel = forms.ChoiceField(label=_("发送渠道"), choices=MessageChannel.choices, initial=MessageChannel.SMS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            "scope", "project", "units", "channel", error_title=_("未发送：请改正标红的项目，已填写的内容都已保留。")
        )


class ReminderPolicyForm(forms.ModelForm):
    class Meta:
        model = ReminderPolicy
        fields = ["enabled", "channel", "first_after_days", "interval_days", "max_reminders"]
        error_messages = {
            "first_after_days": {"invalid": _("请填写整数天数"), "min_value": _("不能为负数")},
            "interval_days": {"invalid": _("请填写整数天数")},
            "max_reminders": {"invalid": _("请填写整数")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_after_days"].max_value = 60
        self.fields["interval_days"].min_value = 1
        self.fields["interval_days"].max_value = 60
        self.fields["max_reminders"].max_value = 10
        self.fields["first_after_days"].widget.attrs.update(min=0, max=60)
        self.fields["interval_days"].widget.attrs.update(min=1, max=60)
        self.fields["max_reminders"].widget.attrs.update(min=0, max=10)
        self.helper = form_helper(
            "enabled", "channel", "first_after_days", "interval_days", "max_reminders",
            error_title=_("提醒计划未保存：请改正标红的项目。"),
        )

    def clean_first_after_days(self):
        value = self.cleaned_data["first_after_days"]
        if value > 60:
            raise forms.ValidationError(_("首次提醒最多在邀请后 60 天"))
        return value

    def clean_interval_days(self):
        value = self.cleaned_data["interval_days"]
        if not 1 <= value <= 60:
            raise forms.ValidationError(_("提醒间隔为 1–60 天"))
        return value

    def clean_max_reminders(self):
        value = self.cleaned_data["max_reminders"]
        if value > 10:
            raise forms.ValidationError(_("每位业主最多提醒 10 次"))
        return value


class QrPrintForm(forms.Form):
    """Which QR codes to print: one project's un-answered owners, a page each or a label sheet per building."""

    LAYOUTS = [("pages", _("每户一页（A4）")), ("labels", _("按楼栋的标签页"))]

    project = forms.ModelChoiceField(
        label=_("楼盘"), queryset=Project.objects.order_by("code"),
        error_messages={"required": _("请选择楼盘"), "invalid_choice": _("请选择列表中的楼盘")},
    )
    building = forms.CharField(
        label=_("楼栋"), required=False, max_length=16,
        help_text=_("留空即整个楼盘；大楼盘按楼栋分批打印更快（房号第一段，如 1-2-301 的 1）"),
    )
    layout = forms.ChoiceField(label=_("版式"), choices=LAYOUTS, initial="pages")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper("project", "building", "layout", error_title=_("未生成：请改正标红的项目。"))


class ProjectLinkForm(forms.Form):
    """An owner's unit and the last four digits of the phone on file (the public project link)."""

    use_required_attribute = False

    unit = forms.CharField(
        label=_("房号"), max_length=32, help_text=_("例如 1-2-301"), error_messages={"required": _("请填写房号")}
    )
    last_four = forms.RegexField(
        label=_("预留手机号后四位"), regex=r"^\s*[0-9０-９]{4}\s*$", max_length=8,
        error_messages={"required": _("请填写手机号后四位"), "invalid": _("请填写 4 位数字")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper("unit", "last_four", error_title=_("未能进入问卷"))
