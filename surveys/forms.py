"""Forms of the data-in pages: one questionnaire keyed in by hand, and the file uploads of the importer."""

from datetime import date

from crispy_forms.layout import HTML, Column, Div, Field, Row
from crispy_forms.utils import TEMPLATE_PACK
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper
from departments.ports import port_label
from owners.models import Owner
from surveys.models import COMMENT_MAX_LENGTH, Channel, Question, Response, Survey

NOT_APPLICABLE = "na"
SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]
FIELD_PREFIX = "q_"
COMMENT_PREFIX = "c_"


class ScoreGroup(Div):
    """The items of one port (or the headline items) in a card under their heading."""

    template = "surveys/crispy/score_group.html"

    def __init__(self, legend, *items):
        super().__init__(*items)
        self.legend = legend


class ScoreItem(Field):
    """One question as a row of button-like radios; static/js/entry.js answers it with the digits 1–5 and 0."""

    template = "surveys/crispy/score_item.html"

    def __init__(self, question: Question):
        super().__init__(FIELD_PREFIX + question.code)
        self.question = question

    def render(self, form, context, template_pack=TEMPLATE_PACK, extra_context=None, **kwargs):
        extra_context = {**(extra_context or {}), "question": self.question}
        return super().render(form, context, template_pack=template_pack, extra_context=extra_context, **kwargs)


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
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    surveyed_on = forms.DateField(
        label=_("调查日期"),
        error_messages={"required": _("请填写调查日期"), "invalid": _("请填写有效的日期，例如 2026-03-05")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    channel = forms.ChoiceField(
        label=_("调查方式"),
        required=False,
        choices=[("", _("未填写"))] + list(Channel.choices),
    )

    confirm_outside_period = forms.BooleanField(
        label=_("调查日期不在本次调查期间内，我已核对，确认保存"), required=False,
    )

    def __init__(
        self,
        *args,
        survey: Survey,
        questions: list[Question],
        owner: Owner | None = None,
        comment_questions: list[Question] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.questions = questions
        self.comment_questions = list(comment_questions)
        self.owner = owner
        for question in self.comment_questions:
            self.fields[COMMENT_PREFIX + question.code] = forms.CharField(
                label=question.label,
                required=question.required,
                max_length=COMMENT_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 2}),
                error_messages={
                    "required": _("请填写意见"),
                    "max_length": _("意见最多 %(limit)d 个字符") % {"limit": COMMENT_MAX_LENGTH},
                },
            )
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
        if not self.is_bound:
            # A blank form starts at the number; a refused one at its first error (static/js/entry.js).
            self.fields["questionnaire_no"].widget.attrs["autofocus"] = True
        self.helper = form_helper(
            Row(
                Column("questionnaire_no", css_class="col-sm-4"),
                Column(
                    # The stage this response will freeze follows the date being typed.
                    Field("surveyed_on", hx_get=reverse("surveys:stage_preview"), hx_trigger="change",
                          hx_target="#stage-preview", hx_include="#entry-owner, #entry-survey"),
                    css_class="col-sm-4",
                ),
                Column("channel", css_class="col-sm-4"),
                css_class="g-3",
            ),
            HTML('<p class="mb-3" id="stage-preview" aria-live="polite">{% include "surveys/_stage.html" %}</p>'),
            *([Div("confirm_outside_period", css_id="period-confirm")] if self.date_outside_period() else []),
            *[ScoreGroup(legend, *[ScoreItem(question) for question in items]) for legend, items in self.question_groups()],
            *([ScoreGroup(_("开放意见"), *[COMMENT_PREFIX + q.code for q in self.comment_questions])]
              if self.comment_questions else []),
            error_title=_("问卷未保存：请改正标红的项目，已填写的内容都已保留。"),
        )
        if not self.date_outside_period():
            del self.fields["confirm_outside_period"]

    def date_outside_period(self) -> bool:
        """Whether the date typed (or offered) lies outside the wave's fieldwork period: then saving needs the
        explicit confirmation, so that the stage frozen with an unusual date is never a silent surprise."""
        from surveys.selectors import survey_date_outside_period

        value = self.data.get("surveyed_on") if self.is_bound else self.initial.get("surveyed_on")
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                return False
        return isinstance(value, date) and survey_date_outside_period(survey=self.survey, surveyed_on=value)

    def period_text(self) -> str:
        survey = self.survey
        start = survey.starts_on.isoformat() if survey.starts_on else "…"
        end = survey.ends_on.isoformat() if survey.ends_on else "…"
        return f"{start} 至 {end}"

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

    def clean(self):
        cleaned = super().clean()
        surveyed_on = cleaned.get("surveyed_on")
        if surveyed_on is not None and "confirm_outside_period" in self.fields and not cleaned.get(
            "confirm_outside_period"
        ):
            self.add_error(
                "surveyed_on",
                _("调查日期 %(date)s 不在本次调查期间（%(period)s）内：请核对；确认无误请勾选下方的确认后再保存")
                % {"date": surveyed_on.isoformat(), "period": self.period_text()},
            )
        return cleaned

    def comments(self) -> dict[str, str]:
        """Comment question code → text (blank = no comment)."""
        return {q.code: self.cleaned_data.get(COMMENT_PREFIX + q.code, "") for q in self.comment_questions}

    @staticmethod
    def initial_comments(comments: dict[str, str]) -> dict[str, str]:
        return {COMMENT_PREFIX + code: text for code, text in comments.items()}

    def scores(self) -> dict[str, int | None]:
        """Question code → score, None for 不适用 or unanswered."""
        scores = {}
        for question in self.questions:
            value = self.cleaned_data.get(FIELD_PREFIX + question.code) or ""
            scores[question.code] = int(value) if value in {"1", "2", "3", "4", "5"} else None
        return scores

    def question_groups(self) -> list[tuple[str, list[Question]]]:
        """(legend, questions) per group: the headline items first, then each port's overall and detail items."""
        groups: dict[str, list[Question]] = {}
        for question in self.questions:
            groups.setdefault(question.port or "", []).append(question)
        ordered = []
        if "" in groups:
            ordered.append((_("核心指标"), groups.pop("")))
        for port, items in groups.items():
            ordered.append((port_label(port), items))
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
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(error_title=_("文件未导入，未写入任何数据。请按下面的提示改正后重新上传。"))

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
    )
    field_order = ["survey", "file"]

    def __init__(self, *args, surveys, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = surveys
