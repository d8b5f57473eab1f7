"""The owner form: an owner added on the spot while keying in questionnaires, or from the owner list."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper
from owners.selectors import projects_in_order

# Dash-like characters that Chinese input methods produce in place of "-".
DASHES = str.maketrans({"－": "-", "—": "-", "–": "-", "‐": "-", "_": "-"})
UNIT_PATTERN = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+(-[0-9A-Za-z\u4e00-\u9fff]+)*$")
PHONE_PATTERN = re.compile(r"^\+?\d{7,15}$")


class OwnerForm(forms.Form):
    use_required_attribute = False

    project = forms.ModelChoiceField(
        label=_("楼盘"),
        queryset=projects_in_order(),
        empty_label=_("请选择楼盘"),
        error_messages={"required": _("请选择楼盘"), "invalid_choice": _("所选楼盘不存在")},
    )
    unit = forms.CharField(
        label=_("房号"),
        max_length=32,
        help_text=_("楼栋-单元-房号，例如 3-2-1502"),
        error_messages={"required": _("请填写房号"), "max_length": _("房号最多 32 个字符")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    name = forms.CharField(
        label=_("业主姓名"),
        max_length=50,
        error_messages={"required": _("请填写业主姓名"), "max_length": _("姓名最多 50 个字符")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=20,
        help_text=_("选填；手机 11 位或带区号的座机"),
        error_messages={"max_length": _("联系电话最多 20 个字符")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    move_in_date = forms.DateField(
        label=_("入住日期"),
        required=False,
        help_text=_("未入住请留空（准业主）"),
        error_messages={"invalid": _("请填写有效的日期，例如 2024-06-30")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper()

    def clean_unit(self) -> str:
        unit = "".join(self.cleaned_data["unit"].split()).translate(DASHES)
        if not UNIT_PATTERN.match(unit):
            raise forms.ValidationError(_("房号格式应为 楼栋-单元-房号，例如 3-2-1502"))
        return unit

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("请填写业主姓名"))
        return name

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].replace(" ", "").replace("-", "")
        if phone and not PHONE_PATTERN.match(phone):
            raise forms.ValidationError(_("联系电话应为 7–15 位数字，例如 13812345678"))
        if len(phone) == 11 and phone.startswith("1") and not re.match(r"^1[3-9]\d{9}$", phone):
            raise forms.ValidationError(_("手机号码应以 13–19 开头，例如 13812345678"))
        return phone
