"""Forms of the follow-up pages: they check input and hand it to ``followup.services``."""

from __future__ import annotations

from crispy_forms.layout import Column, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from core import text_limits
from core.forms import form_helper
from departments.ports import PortCode
from followup.models import AlertRule, PortSla, RuleKind, TicketStatus
from followup.services import TRANSITIONS


def _chinese_required(form: forms.Form) -> None:
    for field in form.fields.values():
        verb = "选择" if isinstance(field.widget, forms.Select) else "填写"
        field.error_messages["required"] = f"请{verb}{field.label}"
        if isinstance(field, forms.IntegerField):
            field.error_messages["invalid"] = f"{field.label}必须是整数"
            field.error_messages["min_value"] = f"{field.label}不能小于 %(limit_value)s"
            field.error_messages["max_value"] = f"{field.label}不能大于 %(limit_value)s"


class TicketFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False,
        choices=[("open", _("未结束")), ("", _("全部状态")), *TicketStatus.choices],
    )
    port = forms.ChoiceField(label=_("端口"), required=False, choices=[("", _("全部端口")), *PortCode.choices])
    view = forms.ChoiceField(
        label=_("范围"), required=False,
        choices=[("", _("全部")), ("mine", _("分派给我的")), ("overdue", _("已逾期")), ("unassigned", _("未分派"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            *[Column(name, css_class="col-auto") for name in self.fields], summary=False, label_class="small mb-0"
        )


class TicketAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("处理人"), queryset=None, empty_label=_("请选择处理人"))

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        _chinese_required(self)
        self.helper = form_helper()


class TicketNoteForm(forms.Form):
    text = forms.CharField(label=_("跟进记录"), max_length=text_limits.NOTE, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _chinese_required(self)
        self.fields["text"].error_messages["max_length"] = f"跟进记录过长：最多 {text_limits.NOTE} 个字符"
        self.helper = form_helper()


class TicketStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("改为"), choices=())
    reason = forms.CharField(
        label=_("无法解决的原因"), required=False, max_length=text_limits.NOTE,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("改为“无法解决”时必填"),
    )

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("请选择")), *[(s, TicketStatus(s).label) for s in TRANSITIONS[current]]]
        _chinese_required(self)
        self.helper = form_helper()

    def clean(self):
        data = super().clean()
        if data.get("status") == TicketStatus.UNRESOLVED and not (data.get("reason") or "").strip():
            self.add_error("reason", "标记为无法解决时必须填写原因")
        return data


class PortSlaForm(forms.ModelForm):
    class Meta:
        model = PortSla
        fields = ["due_hours", "management_after_hours"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_hours"].min_value = 1
        self.fields["due_hours"].validators.append(_min_one)
        _chinese_required(self)
        self.helper = form_helper(Row(Column("due_hours", css_class="col-md-6"),
                                      Column("management_after_hours", css_class="col-md-6")))


def _min_one(value):
    if value is not None and value < 1:
        raise forms.ValidationError("处理时限至少 1 小时")


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["name", "kind", "survey", "series", "threshold", "keywords", "port", "is_active"]
        widgets = {"keywords": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["threshold"].validators = []
        _chinese_required(self)
        self.helper = form_helper(
            Row(Column("name", css_class="col-md-6"), Column("kind", css_class="col-md-3"),
                Column("threshold", css_class="col-md-3")),
            Row(Column("survey", css_class="col-md-4"), Column("series", css_class="col-md-4"),
                Column("port", css_class="col-md-4")),
            "keywords", "is_active",
        )

    def clean(self):
        data = super().clean()
        threshold = data.get("threshold")
        if threshold is not None and not 1 <= threshold <= 4:
            self.add_error("threshold", "低分阈值必须在 1–4 之间")
        if data.get("kind") == RuleKind.KEYWORD and not (data.get("keywords") or "").strip():
            self.add_error("keywords", "关键词规则至少要有一个关键词")
        if data.get("survey") and data.get("series") and data["survey"].series_id != data["series"].pk:
            self.add_error("series", "所选调查不属于该系列；只选其一即可")
        return data
