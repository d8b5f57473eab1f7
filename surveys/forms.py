"""Forms of the data-in pages: one questionnaire keyed in by hand, and the file uploads of the importer."""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.ports import PortCode
from owners.models import Owner
from surveys.models import Channel, Question, Response, Survey

NOT_APPLICABLE = "na"
SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]
FIELD_PREFIX = "q_"


class ResponseEntryForm(forms.Form):
    """The paper or phone questionnaire of one owner: number, date, channel and one radio group per question.

    Required items (the headline ones) offer 1–5 only; the others also offer 不适用. Nothing is written here:
    the view hands ``scores()`` to ``surveys.services.response_submit``.
    """

    # Chinese messages next to the field come from the server; the browser's own bubbles would pre-empt them.
    use_required_attribute = False

    questionnaire_no = forms.CharField(
        label=_("问卷编号"),
        max_length=64,
        error_messages={"required": _("请填写问卷编号"), "max_length": _("问卷编号最多 64 个字符")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "form-control"}),
    )
    surveyed_on = forms.DateField(
        label=_("调查日期"),
        error_messages={"required": _("请填写调查日期"), "invalid": _("请填写有效的日期，例如 2026-03-05")},
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )
    channel = forms.ChoiceField(
        label=_("调查方式"),
        required=False,
        choices=[("", _("未填写"))] + list(Channel.choices),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, survey: Survey, questions: list[Question], owner: Owner | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.questions = questions
        self.owner = owner
        for question in questions:
            choices = list(SCORE_CHOICES)
            if not question.required:
                choices.append((NOT_APPLICABLE, _("不适用")))
            self.fields[FIELD_PREFIX + question.code] = forms.ChoiceField(
                label=question.label,
                choices=choices,
                required=question.required,
                widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
                error_messages={
                    "required": _("必答题，请打 1–5 分"),
                    "invalid_choice": _("请选择 1–5 分或不适用"),
                },
            )

    def clean_questionnaire_no(self) -> str:
        number = self.cleaned_data["questionnaire_no"].strip()
        if not number:
            raise forms.ValidationError(_("请填写问卷编号"))
        clash = Response.objects.filter(survey=self.survey, questionnaire_no=number).select_related("owner")
        if self.owner is not None:
            clash = clash.exclude(owner=self.owner)
        other = clash.first()
        if other is not None:
            raise forms.ValidationError(
                _("问卷编号“%(no)s”在本次调查中已用于业主 %(owner)s") % {"no": number, "owner": other.owner}
            )
        return number

    def clean_surveyed_on(self):
        surveyed_on = self.cleaned_data["surveyed_on"]
        if surveyed_on > timezone.localdate():
            raise forms.ValidationError(_("调查日期不能晚于今天"))
        return surveyed_on

    def scores(self) -> dict[str, int | None]:
        """Question code → score, None for 不适用 or unanswered."""
        scores = {}
        for question in self.questions:
            value = self.cleaned_data.get(FIELD_PREFIX + question.code) or ""
            scores[question.code] = int(value) if value in {"1", "2", "3", "4", "5"} else None
        return scores

    def question_groups(self) -> list[tuple[str, list]]:
        """(legend, bound fields) per group: the headline items first, then each port's overall and detail items."""
        groups: dict[str, list] = {}
        for question in self.questions:
            key = question.port or ""
            groups.setdefault(key, []).append((question, self[FIELD_PREFIX + question.code]))
        port_labels = dict(PortCode.choices)
        ordered = []
        if "" in groups:
            ordered.append((_("核心指标"), groups.pop("")))
        for port, items in groups.items():
            ordered.append((port_labels.get(port, port), items))
        return ordered

    @staticmethod
    def initial_for(*, questions: list[Question], scores: dict[str, int | None]) -> dict[str, str]:
        """Initial radio values from decoded answers (an existing response opened for editing)."""
        initial = {}
        for question in questions:
            score = scores.get(question.code)
            if score is not None:
                initial[FIELD_PREFIX + question.code] = str(score)
            elif not question.required:
                initial[FIELD_PREFIX + question.code] = NOT_APPLICABLE
        return initial


class UploadForm(forms.Form):
    """A file for the importer; its content is checked by ``surveys.importer.upload_check`` afterwards."""

    file = forms.FileField(
        label=_("文件"),
        help_text=_("Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK 编码）"),
        error_messages={
            "required": _("请选择要上传的文件"),
            "empty": _("上传的文件是空的"),
            "invalid": _("没有收到文件，请重新选择"),
            "missing": _("没有收到文件，请重新选择"),
        },
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx,.xls,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("文件过大（%(size).1f MB），上限为 %(limit).0f MB，未写入任何数据")
                % {"size": upload.size / 1024 / 1024, "limit": limit / 1024 / 1024}
            )
        return upload


class ResponsesUploadForm(UploadForm):
    survey = forms.ModelChoiceField(
        label=_("调查"),
        queryset=Survey.objects.none(),
        empty_label=_("请选择调查"),
        error_messages={"required": _("请选择要导入到哪个调查"), "invalid_choice": _("所选调查不存在")},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    field_order = ["survey", "file"]

    def __init__(self, *args, surveys, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = surveys
