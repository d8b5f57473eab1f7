"""Forms of the research bases: they check input and hand it to ``feedback.services``."""

from __future__ import annotations

from datetime import timedelta

from crispy_forms.layout import HTML, Column, Field, Fieldset, Row
from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from core import text_limits
from core.forms import form_helper
from departments.ports import PortCode, port_label, ports_in_order
from feedback.importing import parse_rate
from feedback.models import (
    CallbackOutcome,
    CallbackRule,
    CommentTheme,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackStatus,
)
from feedback.services import benchmark_row_validate, feedback_validate
from owners.models import Owner, Project
from owners.stages import Stage
from surveys.forms import UploadForm  # the one upload field: accepted types, size limit, messages

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SCORE_CHOICES = [("", _("未评分")), *[(str(n), str(n)) for n in (5, 4, 3, 2, 1)]]


class FieldMessagesMixin:
    """Chinese messages that name the field: 请选择楼盘, 受理日期不是有效日期."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            verb = "选择" if isinstance(field.widget, forms.Select) else "填写"
            field.error_messages["required"] = f"请{verb}{field.label}"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = f"{field.label}不是有效日期"


def _thirds(*names: str) -> Row:
    return Row(*[Column(name, css_class="col-md-4") for name in names])


def _projects():
    return Project.objects.order_by("code")


class FeedbackForm(FieldMessagesMixin, forms.Form):
    kind = forms.ChoiceField(label=_("反馈类型"), choices=FeedbackKind.choices)
    project = forms.ModelChoiceField(label=_("楼盘"), queryset=_projects(), empty_label=_("请选择楼盘"))
    unit = forms.CharField(label=_("房号"), max_length=32, required=False)
    owner = forms.IntegerField(required=False, widget=forms.HiddenInput)
    owner_name = forms.CharField(
        label=_("业主"), max_length=50, required=False,
        help_text=_("选填；输入房号、姓名或电话尾号，从业主名册中选择（不用脚本时填写姓名并填写房号）"),
    )
    port = forms.ChoiceField(label=_("责任端口"), choices=[("", _("请选择端口")), *PortCode.choices])
    received_on = forms.DateField(label=_("受理日期"), widget=DATE_WIDGET)
    severity = forms.ChoiceField(label=_("严重程度"), choices=FeedbackSeverity.choices, initial=FeedbackSeverity.NORMAL)
    status = forms.ChoiceField(label=_("处理状态"), choices=FeedbackStatus.choices, initial=FeedbackStatus.OPEN)
    closed_on = forms.DateField(label=_("关闭日期"), widget=DATE_WIDGET, required=False, help_text=_("状态为已关闭时必填"))
    description = forms.CharField(label=_("反馈内容"), max_length=text_limits.TEXT, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["project"].queryset = _projects()
        # The roster search of keyed entry (owners.selectors.owners_search), offered as the user types.
        self.fields["owner_name"].widget.attrs.update({
            "autocomplete": "off",
            "hx-get": reverse_lazy("feedback:owner_search"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": "#owner-picker-results",
            "hx-include": "#id_project",
            "hx-vals": '{"picker": "1"}',
        })
        self.helper = form_helper(
            _thirds("kind", "port", "severity"),
            _thirds("project", "unit", "owner_name"),
            HTML('<div id="owner-picker-results" class="mb-3" aria-live="polite"></div>'),
            "owner",
            _thirds("received_on", "status", "closed_on"),
            "description",
        )

    def clean(self):
        data = super().clean()
        owner = None
        owner_name = (data.get("owner_name") or "").strip()
        unit = (data.get("unit") or "").strip()
        project = data.get("project")
        if data.get("owner"):
            # Picked from the roster: the owner's own unit; the service checks the project.
            owner = Owner.objects.filter(pk=data["owner"]).first()
            if owner is None:
                self.add_error("owner_name", "名册中没有这位业主，请重新搜索选择")
            else:
                data["unit"] = owner.unit
        elif owner_name and project is not None:
            if not unit:
                self.add_error("unit", "填写业主姓名时必须填写房号")
            else:
                owner = Owner.objects.filter(project=project, unit=unit, name=owner_name).first()
                if owner is None:
                    self.add_error("owner_name", "该楼盘、房号下没有这位业主，请核对或留空")
        data["owner"] = owner
        # The service's checks run even when some field failed, so every problem is shown at once.
        problems = feedback_validate(
            kind=data.get("kind", ""),
            project=project,
            port=data.get("port", ""),
            received_on=data.get("received_on"),
            description=data.get("description", ""),
            severity=data.get("severity", ""),
            status=data.get("status", ""),
            closed_on=data.get("closed_on"),
            owner=owner,
            today=self.today,
        )
        for field_name, message in problems.items():
            field_name = "owner_name" if field_name == "owner" else field_name
            if field_name in self.errors:
                continue  # already reported by the field itself, e.g. "请选择楼盘"
            self.add_error(field_name if field_name in self.fields else None, message)
        return data

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "project": data["project"],
            "owner": data["owner"],
            "unit": data.get("unit", ""),
            "port": data["port"],
            "received_on": data["received_on"],
            "severity": data["severity"],
            "status": data["status"],
            "closed_on": data.get("closed_on"),
            "description": data["description"],
            "today": self.today,
        }


class FeedbackPeriodForm(FieldMessagesMixin, forms.Form):
    """受理日期 from … to …: the period of a port's feedback figures."""

    received_from = forms.DateField(label=_("受理日期自"), widget=DATE_WIDGET, required=False)
    received_to = forms.DateField(label=_("至"), widget=DATE_WIDGET, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One line of small controls inside the template's <form class="row">, which adds its button at the end.
        self.helper = form_helper(
            *[
                Column(Field(name, css_class="form-select-sm" if isinstance(field.widget, forms.Select) else "form-control-sm"),
                       css_class="col-auto")
                for name, field in self.fields.items()
            ],
            summary=False,
            label_class="small mb-0",
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", "结束日期不能早于开始日期")
        return data


class FeedbackFilterForm(FeedbackPeriodForm):
    """The filters of the feedback list."""

    kind = forms.ChoiceField(label=_("类型"), choices=[("", _("全部类型")), *FeedbackKind.choices], required=False)
    port = forms.ChoiceField(label=_("端口"), choices=[("", _("全部端口"))], required=False)
    project = forms.ModelChoiceField(label=_("楼盘"), queryset=_projects(), required=False, empty_label=_("全部楼盘"))
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部状态")), *FeedbackStatus.choices], required=False)
    field_order = ["kind", "port", "project", "status", "received_from", "received_to"]

    def __init__(self, *args, visible_ports=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects()
        self.fields["port"].choices = [("", _("全部端口")), *[(code, port_label(code)) for code in ports_in_order(visible_ports)]]


class CallbackForm(FieldMessagesMixin, forms.Form):
    called_on = forms.DateField(label=_("回访日期"), widget=DATE_WIDGET)
    outcome = forms.ChoiceField(label=_("回访结果"), choices=[("", _("请选择")), *CallbackOutcome.choices])
    overall = forms.TypedChoiceField(label=_("总体满意度"), choices=SCORE_CHOICES, coerce=int, empty_value=None, required=False)
    repurchase = forms.TypedChoiceField(label=_("再次购买意愿"), choices=SCORE_CHOICES, coerce=int, empty_value=None, required=False)
    recommend = forms.TypedChoiceField(label=_("推荐意愿"), choices=SCORE_CHOICES, coerce=int, empty_value=None, required=False)
    notes = forms.CharField(label=_("回访记录"), max_length=text_limits.NOTE, widget=forms.Textarea(attrs={"rows": 3}), required=False)
    issue_port = forms.ChoiceField(label=_("发现问题的端口"), choices=[("", _("无问题")), *PortCode.choices], required=False)
    issue_description = forms.CharField(label=_("问题描述"), max_length=text_limits.TEXT, widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _thirds("called_on", "outcome"),
            # static/js/feedback.js disables the scores unless the owner was reached.
            Fieldset(
                _("核心指标评分（接通时选填，计入回访触点调查）"),
                _thirds("overall", "repurchase", "recommend"),
                css_id="callback-scores",
                css_class="border rounded px-2 pt-1 mb-3",
            ),
            "notes",
            Row(Column("issue_port", css_class="col-md-4"), Column("issue_description", css_class="col-md-8")),
        )

    def scores(self) -> dict[str, int | None]:
        return {code: self.cleaned_data.get(code) for code in ("overall", "repurchase", "recommend")}


DUE_WINDOWS = [
    ("", _("全部到期")),
    ("overdue", _("已过应回访日")),
    ("today", _("今天到期")),
    ("week", _("未来 7 天到期")),
    ("later", _("7 天以后到期")),
]


class CallbackFilterForm(forms.Form):
    """Filters of the callback due list: project, stage (as of the due date) and where the due date falls."""

    project = forms.ModelChoiceField(label=_("楼盘"), queryset=_projects(), required=False, empty_label=_("全部楼盘"))
    stage = forms.ChoiceField(label=_("阶段"), choices=[("", _("全部阶段")), *Stage.choices], required=False)
    window = forms.ChoiceField(label=_("到期"), choices=DUE_WINDOWS, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects()
        self.fields["project"].error_messages["invalid_choice"] = "没有这个楼盘，已显示全部楼盘"
        self.helper = form_helper(_thirds("project", "stage", "window"), summary=False)

    def due_range(self, today):
        """(due_from, due_to) for the chosen window; None = open."""
        window = self.cleaned_data.get("window") if self.is_valid() else ""
        week = today + timedelta(days=7)
        return {
            "overdue": (None, today - timedelta(days=1)),
            "today": (today, today),
            "week": (today, week),
            "later": (week + timedelta(days=1), None),
        }.get(window, (None, None))


class CallbackInlineForm(forms.Form):
    """The outcome and a note, typed in the due list's row (the full record page takes scores and issues)."""

    outcome = forms.ChoiceField(label=_("回访结果"), choices=[("", _("请选择结果")), *CallbackOutcome.choices])
    notes = forms.CharField(label=_("备注"), max_length=text_limits.NOTE, required=False)

    def __init__(self, *args, owner_id: int, rule_id: int, **kwargs):
        super().__init__(*args, auto_id=f"id_%s_{owner_id}_{rule_id}", **kwargs)
        self.fields["notes"].widget.attrs["placeholder"] = _("备注")
        self.helper = form_helper(
            Row(Column(Field("outcome", wrapper_class="mb-0"), css_class="col"), Column(Field("notes", wrapper_class="mb-0"), css_class="col")),
            summary=False,
            label_class="visually-hidden",
        )


class CallbackRuleForm(FieldMessagesMixin, forms.ModelForm):
    months_after_move_in = forms.IntegerField(label=_("起算后月数"), min_value=1, max_value=120)
    window_days = forms.IntegerField(label=_("前后窗口（天）"), min_value=0, max_value=90, initial=15)

    class Meta:
        model = CallbackRule
        fields = ["name", "anchor", "months_after_move_in", "window_days", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["months_after_move_in"].error_messages.update(
            min_value="月数须在 1 到 120 之间", max_value="月数须在 1 到 120 之间", invalid="月数须为整数"
        )
        self.fields["window_days"].error_messages.update(
            min_value="窗口须在 0 到 90 天之间", max_value="窗口须在 0 到 90 天之间", invalid="窗口天数须为整数"
        )
        self.helper = form_helper(_thirds("name", "anchor", "months_after_move_in"), _thirds("window_days", "is_active"))


class CommentThemeForm(FieldMessagesMixin, forms.ModelForm):
    class Meta:
        model = CommentTheme
        fields = ["name", "keywords", "position"]

    def __init__(self, *args, port: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.port = port
        self.fields["position"].error_messages["invalid"] = "顺序须为整数"
        self.helper = form_helper(
            Row(Column("name", css_class="col-md-3"), Column("keywords", css_class="col-md-7"), Column("position", css_class="col-md-2"))
        )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("请填写主题")
        # The port is not a field of the form, so the model's unique check would skip it: ask here.
        if CommentTheme.objects.filter(port=self.instance.port, name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("该端口已有同名主题")
        return name


class BenchmarkForm(FieldMessagesMixin, forms.Form):
    name = forms.CharField(label=_("报告名称"), max_length=100)
    source = forms.CharField(label=_("来源"), max_length=100, help_text=_("如：集团客户满意度调查、第三方调查机构名称"))
    report_on = forms.DateField(label=_("报告日期"), widget=DATE_WIDGET)
    notes = forms.CharField(label=_("说明"), max_length=text_limits.NOTE, widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper()


class BenchmarkImportForm(BenchmarkForm, UploadForm):
    pass


class RateField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_rate(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class BenchmarkRowForm(FieldMessagesMixin, forms.Form):
    project = forms.ModelChoiceField(label=_("楼盘"), queryset=_projects(), required=False, empty_label=_("全部楼盘"))
    port = forms.ChoiceField(label=_("端口"), choices=[("", _("核心指标")), *PortCode.choices], required=False)
    stage = forms.ChoiceField(label=_("业主阶段"), choices=[("", _("全部阶段")), *Stage.choices], required=False)
    sample_size = forms.IntegerField(label=_("样本量"), min_value=1)
    satisfaction_rate = RateField(label=_("满意度"), help_text=_("如 85.3%"))
    loyalty_rate = RateField(label=_("忠诚度"), required=False, help_text=_("仅核心指标"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects()
        self.helper = form_helper(Row(*[Column(name, css_class="col-md-2") for name in self.fields], css_class="g-2"))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = benchmark_row_validate(
            port=data.get("port", ""),
            stage=data.get("stage", ""),
            sample_size=data.get("sample_size"),
            satisfaction_rate=data.get("satisfaction_rate"),
            loyalty_rate=data.get("loyalty_rate"),
        )
        for field_name, message in problems.items():
            self.add_error(field_name, message)
        return data
