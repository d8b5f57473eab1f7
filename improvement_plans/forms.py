"""Forms of the plan pages: they validate input and hand it to ``improvement_plans.services``."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.layout import Column, Field, Row
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core import text_limits
from core.forms import form_helper
from departments.models import Department, WorkingGroup
from improvement_plans import services
from improvement_plans.models import (
    ActionItem,
    ComparisonKind,
    ImprovementPlan,
    ItemKind,
    ItemStatus,
    MeasureCategory,
    PilotOutcome,
    plan_scope_label,
)


class PercentField(forms.DecimalField):
    """A rate typed as a percentage (85.5) and stored as a fraction (0.855)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal("100"))
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("step", "0.1")

    def prepare_value(self, value):
        if isinstance(value, float):
            return f"{value * 100:.2f}".rstrip("0").rstrip(".")
        return value

    def clean(self, value):
        cleaned = super().clean(value)
        return None if cleaned is None else float(cleaned) / 100


def _text(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class PlanCreateForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    port = forms.ChoiceField(label=_("计划范围"))
    satisfaction_target = PercentField(label=_("满意度目标（%）"))
    loyalty_target = PercentField(label=_("忠诚度目标（%）"), help_text=_("仅公司总体计划填写"))
    directions = forms.CharField(label=_("主要方向"), max_length=text_limits.LONG_TEXT, required=False, widget=_text(4))
    feedback_summary = forms.CharField(
        label=_("一线反馈活动总结与评价"), max_length=text_limits.LONG_TEXT, required=False, widget=_text(5)
    )

    def __init__(self, *args, ports: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["port"].choices = [(code, plan_scope_label(code)) for code in ports]
        if "" not in ports:
            del self.fields["loyalty_target"]
        self.helper = form_helper()

    def clean(self):
        data = super().clean()
        if data.get("port") and data.get("loyalty_target") is not None:
            self.add_error("loyalty_target", _("忠诚度目标只在公司总体计划中设定"))
        return data


class PlanEditForm(forms.ModelForm):
    satisfaction_target = PercentField(label=_("满意度目标（%）"))
    loyalty_target = PercentField(label=_("忠诚度目标（%）"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = ImprovementPlan
        fields = ["satisfaction_target", "loyalty_target", "directions", "feedback_summary"]
        widgets = {"directions": _text(4), "feedback_summary": _text(5)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        if self.instance.port:
            del self.fields["loyalty_target"]
        self.helper = form_helper()

    def plan_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.fields}


class ActionItemForm(forms.ModelForm):
    """What the item is; locked once the plan is submitted (progress has its own form)."""

    # Shown only while 类型 is 流程试点 (static/js/plans.js).
    pilot_fields = frozenset({"pilot_scope", "old_process", "new_process", "cost_analysis", "comparison_kind"})

    responsible_department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("code"), required=False, label=_("责任部门")
    )

    class Meta:
        model = ActionItem
        fields = [
            "kind",
            "title",
            "description",
            "measure_category",
            "responsible_department",
            "responsible_person",
            "due_on",
            "working_group",
            "pilot_scope",
            "old_process",
            "new_process",
            "cost_analysis",
            "comparison_kind",
        ]
        widgets = {
            "description": _text(3),
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "pilot_scope": _text(2),
            "old_process": _text(3),
            "new_process": _text(3),
            "cost_analysis": _text(3),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = ItemKind.choices
        self.fields["working_group"].queryset = WorkingGroup.objects.filter(kind=WorkingGroup.Kind.TASK_FORCE).order_by(
            "-starts_on", "name"
        )
        self.fields["working_group"].empty_label = _("（无）")
        self.fields["measure_category"].choices = [("", _("请选择")), *MeasureCategory.choices]
        self.fields["comparison_kind"].choices = [("", _("（不适用）")), *ComparisonKind.choices]
        self.helper = form_helper(
            *[Field(name, wrapper_class="pilot-only") if name in self.pilot_fields else name for name in self.fields]
        )

    def clean(self):
        data = super().clean()
        if data.get("kind") == ItemKind.PILOT:
            for name in ("pilot_scope", "new_process", "cost_analysis"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, _("流程试点须填写试点范围、新流程和成本分析。"))
        return data

    def item_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class ActionItemNewForm(ActionItemForm):
    """A new item; the plan is chosen among the drafts the user may edit."""

    plan = forms.ModelChoiceField(queryset=ImprovementPlan.objects.none(), label=_("所属计划"))
    field_order = ["plan"]

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = lambda plan: f"{plan.year} 年度 · {plan.scope_label}"


class ProgressForm(forms.Form):
    text = forms.CharField(label=_("进展说明"), max_length=text_limits.NOTE, widget=_text(3))
    percent = forms.IntegerField(label=_("完成百分比（%）"), min_value=0, max_value=100)
    status = forms.ChoiceField(label=_("进度状态"), choices=ItemStatus.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper()


class PilotResultForm(forms.Form):
    comparison_kind = forms.ChoiceField(label=_("对比方式"), choices=ComparisonKind.choices)
    pilot_satisfied = forms.IntegerField(label=_("试点组（或试点后）满意数 x"), min_value=0, required=False)
    pilot_n = forms.IntegerField(label=_("试点组（或试点后）样本量 n"), min_value=0, required=False)
    comparison_satisfied = forms.IntegerField(label=_("对照组（或试点前）满意数 x"), min_value=0, required=False)
    comparison_n = forms.IntegerField(label=_("对照组（或试点前）样本量 n"), min_value=0, required=False)
    outcome = forms.ChoiceField(label=_("试点结论"), choices=PilotOutcome.choices, required=False)
    outcome_reference = forms.CharField(label=_("规范/指引编号"), max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            "comparison_kind",
            Row(Column("pilot_satisfied"), Column("pilot_n")),
            Row(Column("comparison_satisfied"), Column("comparison_n")),
            Row(Column("outcome"), Column("outcome_reference")),
        )


class CommentForm(forms.Form):
    text = forms.CharField(label=_("评论"), max_length=text_limits.NOTE, widget=_text(3))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper()


class ReviewForm(forms.Form):
    """The comment that goes with approving, returning or completing a plan."""

    comment = forms.CharField(label=_("意见（可选）"), max_length=text_limits.NOTE, required=False, widget=_text(2))

    def __init__(self, *args, may_return: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if may_return:
            self.fields["comment"].label = _("意见（退回时必填）")
        self.helper = form_helper()


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class WorkingGroupForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), required=False, label=_("成员"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WorkingGroup
        fields = ["name", "kind", "purpose", "starts_on", "ends_on", "members"]
        widgets = {"purpose": _text(3), "starts_on": DATE_INPUT, "ends_on": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["members"].label_from_instance = lambda user: user.get_full_name() or user.username
        self.fields["name"].error_messages["required"] = _("请填写小组名称")
        self.fields["kind"].error_messages["required"] = _("请选择小组类型")
        self.helper = form_helper(
            Row(Column("name", css_class="col-md-6"), Column("kind", css_class="col-md-6")),
            "purpose",
            Row(Column("starts_on", css_class="col-md-6"), Column("ends_on", css_class="col-md-6")),
            "members",
        )

    def clean(self):
        data = super().clean()
        try:
            services.group_validate(kind=data.get("kind"), starts_on=data.get("starts_on"), ends_on=data.get("ends_on"))
        except forms.ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return data


class MeetingForm(forms.Form):
    held_on = forms.DateField(label=_("会议日期"), widget=DATE_INPUT, error_messages={"required": _("请填写会议日期"), "invalid": _("会议日期不是有效日期")})
    title = forms.CharField(label=_("议题"), max_length=200, error_messages={"required": _("请填写议题")})
    attendees = forms.CharField(label=_("参会人"), max_length=500, required=False)
    minutes = forms.CharField(label=_("会议纪要"), max_length=text_limits.TEXT, required=False, widget=_text(4))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            Row(Column("held_on", css_class="col-md-4"), Column("title", css_class="col-md-8")), "attendees", "minutes"
        )


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("决议内容"), max_length=text_limits.NOTE, widget=_text(2), error_messages={"required": _("请填写决议内容")})
    responsible = forms.CharField(label=_("负责人"), max_length=50, required=False)
    due_on = forms.DateField(label=_("完成期限"), widget=DATE_INPUT, required=False, error_messages={"invalid": _("完成期限不是有效日期")})

    def __init__(self, *args, prefix=None, **kwargs):
        super().__init__(*args, prefix=prefix, **kwargs)
        self.helper = form_helper(
            "text", Row(Column("responsible", css_class="col-md-6"), Column("due_on", css_class="col-md-6")), summary=False
        )
