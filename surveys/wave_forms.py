"""Forms of the wave pages: a wave, a series, a questionnaire and its items, and the raw-questionnaire filters.

Validation of substance (codes, series against source, items) is the services'; these forms check types and
hand ``cleaned_data`` to ``surveys.services``.
"""

from crispy_forms.layout import Column, Field, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper
from departments.ports import PortCode
from owners.models import Project
from owners.stages import Stage
from surveys.models import Channel, QuestionKind, Questionnaire, Survey, SurveySeries, SurveySource

DATE_WIDGET = {"type": "date"}


class SeriesChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, series: SurveySeries) -> str:
        return f"{series.name}（{series.get_source_display()}）"


class QuestionnaireChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, questionnaire: Questionnaire) -> str:
        return f"{questionnaire.name}（{questionnaire.code} v{questionnaire.version}）"


class WaveForm(forms.Form):
    """Create or change a wave. The source follows the series unless chosen; the questionnaire version is fixed
    once the wave has responses (``locked_questionnaire``)."""

    use_required_attribute = False

    code = forms.CharField(
        label=_("调查编码"), max_length=64, help_text=_("英文字母、数字、“-”，例如 2027-annual、handover-2027"),
        error_messages={"required": _("请填写调查编码")},
    )
    name = forms.CharField(label=_("调查名称"), max_length=100, error_messages={"required": _("请填写调查名称")})
    series = SeriesChoiceField(
        label=_("系列"), queryset=SurveySeries.objects.none(), empty_label=None,
        help_text=_("变化只与同一系列的上一次调查比较"),
    )
    source = forms.ChoiceField(
        label=_("来源"), required=False, choices=[("", _("与系列一致"))] + list(SurveySource.choices),
    )
    starts_on = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        error_messages={"invalid": _("请填写有效的日期，例如 2026-03-05")},
    )
    ends_on = forms.DateField(
        label=_("结束日期"), required=False, widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        error_messages={"invalid": _("请填写有效的日期，例如 2026-03-05")},
    )
    questionnaire = QuestionnaireChoiceField(
        label=_("问卷版本"), queryset=Questionnaire.objects.none(), empty_label=None,
    )
    target_projects = forms.ModelMultipleChoiceField(
        label=_("目标楼盘"), required=False, queryset=Project.objects.none(),
        widget=forms.CheckboxSelectMultiple, help_text=_("不选 = 全部楼盘"),
    )
    target_stages = forms.MultipleChoiceField(
        label=_("目标业主阶段"), required=False, choices=Stage.choices, widget=forms.CheckboxSelectMultiple,
        help_text=_("不选 = 全部阶段；阶段按开始日期计算"),
    )
    weighting = forms.ChoiceField(
        label=_("加权"), choices=Survey.Weighting.choices, initial=Survey.Weighting.NONE,
        help_text=_("默认不加权。按业主总体加权：按开始日期各楼盘 × 阶段的业主人数加权，加权结果与未加权结果并列显示；"
                    "修改后重新计算"),
    )

    def __init__(self, *args, locked_questionnaire: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = SurveySeries.objects.filter(is_active=True).order_by("position", "code")
        self.fields["questionnaire"].queryset = Questionnaire.objects.order_by("code", "-version")
        self.fields["target_projects"].queryset = Project.objects.order_by("code")
        if locked_questionnaire:
            self.fields["questionnaire"].disabled = True
            self.fields["questionnaire"].help_text = _("已有答卷，问卷不能更换")
        if not self.is_bound:
            self.fields["code"].widget.attrs["autofocus"] = True
        self.helper = form_helper(
            Row(Column("code", css_class="col-md-4"), Column("name", css_class="col-md-8")),
            Row(Column("series", css_class="col-md-4"), Column("source", css_class="col-md-4"),
                Column("weighting", css_class="col-md-4")),
            Row(Column("starts_on", css_class="col-md-4"), Column("ends_on", css_class="col-md-4"),
                Column("questionnaire", css_class="col-md-4")),
            Row(Column(Field("target_projects"), css_class="col-md-8"), Column("target_stages", css_class="col-md-4")),
            error_title=_("调查未保存：请改正标红的项目。"),
        )

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
        return cleaned

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        series = data["series"]
        return {
            "code": data["code"].strip(),
            "name": data["name"].strip(),
            "series": series,
            "source": data["source"] or series.source,
            "questionnaire": data["questionnaire"],
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "target_projects": list(data["target_projects"]),
            "target_stages": list(data["target_stages"]),
            "weighting": data["weighting"],
        }

    @staticmethod
    def initial_for(survey: Survey) -> dict:
        return {
            "code": survey.code, "name": survey.name, "series": survey.series_id, "source": survey.source,
            "starts_on": survey.starts_on, "ends_on": survey.ends_on, "questionnaire": survey.questionnaire_id,
            "target_projects": list(survey.target_projects.values_list("pk", flat=True)),
            "target_stages": survey.target_stages, "weighting": survey.weighting,
        }  # fmt: skip


class SeriesForm(forms.Form):
    use_required_attribute = False

    code = forms.CharField(label=_("系列编码"), max_length=32, help_text=_("小写字母、数字、“-”，例如 move-out"),
                           error_messages={"required": _("请填写系列编码")})
    name = forms.CharField(label=_("系列名称"), max_length=100, help_text=_("例如 装修后回访"),
                           error_messages={"required": _("请填写系列名称")})
    source = forms.ChoiceField(label=_("来源"), choices=SurveySource.choices, initial=SurveySource.TOUCHPOINT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            Row(Column("code", css_class="col-md-3"), Column("name", css_class="col-md-5"),
                Column("source", css_class="col-md-4")),
            error_title=_("系列未添加：请改正标红的项目。"),
        )


class QuestionnaireCopyForm(forms.Form):
    use_required_attribute = False

    code = forms.CharField(label=_("新问卷编码"), max_length=64, help_text=_("小写字母、数字、“-”，例如 repair"),
                           error_messages={"required": _("请填写问卷编码")})
    name = forms.CharField(label=_("新问卷名称"), max_length=100, error_messages={"required": _("请填写问卷名称")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["code"].widget.attrs["autofocus"] = True
        self.helper = form_helper(
            Row(Column("code", css_class="col-md-4"), Column("name", css_class="col-md-8")),
            error_title=_("问卷未创建：请改正标红的项目。"),
        )


class QuestionnaireNameForm(forms.Form):
    use_required_attribute = False

    name = forms.CharField(label=_("问卷名称"), max_length=100, error_messages={"required": _("请填写问卷名称")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper("name", error_title=_("问卷未保存：请改正标红的项目。"))


class ItemForm(forms.Form):
    """One item of the questionnaire editor (a row of its table)."""

    use_required_attribute = False

    code = forms.CharField(label=_("编码"), max_length=64, required=False,
                           widget=forms.TextInput(attrs={"class": "font-monospace", "size": 18}))
    label = forms.CharField(label=_("题目文字"), max_length=100, required=False,
                            widget=forms.TextInput(attrs={"size": 28}))
    kind = forms.ChoiceField(label=_("题型"), choices=QuestionKind.choices, initial=QuestionKind.DETAIL)
    port = forms.ChoiceField(label=_("端口"), required=False, choices=[("", _("无"))] + list(PortCode.choices))
    required = forms.BooleanField(label=_("必答"), required=False)

    def has_content(self) -> bool:
        return bool(self.cleaned_data.get("code") or self.cleaned_data.get("label"))


class BaseItemFormSet(forms.BaseFormSet):
    def items(self) -> list:
        """The items kept, in the order chosen (the 顺序 numbers; ties keep the table's order)."""
        from surveys.services import ItemDef

        kept = []
        for index, form in enumerate(self.forms):
            if not form.is_valid() or not form.has_content() or self._should_delete_form(form):
                continue
            order = form.cleaned_data.get("ORDER")
            kept.append(((order if order is not None else 10_000, index), form.cleaned_data))
        kept.sort(key=lambda pair: pair[0])
        return [
            ItemDef(code=data["code"], label=data["label"], kind=data["kind"], port=data["port"] or "",
                    required=data["required"])
            for _, data in kept
        ]


ItemFormSet = forms.formset_factory(
    ItemForm, formset=BaseItemFormSet, extra=2, can_order=True, can_delete=True, max_num=255, validate_max=True
)


def item_formset_helper():
    helper = form_helper(summary=False)
    helper.template = "bootstrap5/table_inline_formset.html"
    return helper


def item_initial(items) -> list[dict]:
    return [
        {"code": i.code, "label": i.label, "kind": i.kind, "port": i.port, "required": i.required, "ORDER": n + 1}
        for n, i in enumerate(items)
    ]


class ResponseFilterForm(forms.Form):
    """The raw-questionnaire filters (a GET form): project, stage, channel, a score range of one item, comment text."""

    project = forms.ModelChoiceField(label=_("楼盘"), required=False, queryset=Project.objects.none(),
                                     empty_label=_("全部楼盘"), to_field_name="code")
    stage = forms.ChoiceField(label=_("业主阶段"), required=False, choices=[("", _("全部阶段"))] + list(Stage.choices))
    channel = forms.ChoiceField(label=_("调查方式"), required=False, choices=[("", _("全部方式"))] + list(Channel.choices))
    item = forms.ChoiceField(label=_("题目"), required=False)
    min_score = forms.IntegerField(label=_("最低分"), required=False, min_value=1, max_value=5)
    max_score = forms.IntegerField(label=_("最高分"), required=False, min_value=1, max_value=5)
    comment = forms.CharField(label=_("意见包含"), required=False, max_length=100)

    def __init__(self, *args, survey: Survey, questions, has_comments: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.order_by("code")
        self.fields["item"].choices = [("", _("（不按分数筛选）"))] + [(q.code, q.label) for q in questions]
        if not has_comments:
            del self.fields["comment"]
        self.helper = form_helper(
            Row(*[Column(name, css_class="col-sm-6 col-md-3 col-xl") for name in self.fields], css_class="g-2"),
            summary=False,
        )

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_score"), cleaned.get("max_score")
        if (low is not None or high is not None) and not cleaned.get("item"):
            self.add_error("item", _("按分数筛选请先选择题目"))
        if low is not None and high is not None and high < low:
            self.add_error("max_score", _("最高分不能低于最低分"))
        return cleaned
