"""The owner's questionnaire (one plain HTML form, DESIGN.md §4 "Answering online") and the staff's link forms."""

from __future__ import annotations

from html import escape

from crispy_forms.layout import Div, Field
from crispy_forms.utils import TEMPLATE_PACK
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper
from departments.ports import port_label
from owners.models import Project
from surveys.models import COMMENT_MAX_LENGTH, Question

# Fields are named by question code; 1–5 is a score, 0 or empty is not answered (不适用).
NOT_APPLICABLE = "0"  # the posted value of 不适用 (the answer string writes "-", surveys.answers)
SCORES = ("1", "2", "3", "4", "5")
COMMENT_FIELD = "comment"


class AnswerGroup(Div):
    """The items of one port (or the headline items) under their heading."""

    template = "online/crispy/answer_group.html"

    def __init__(self, legend, *items):
        super().__init__(*items)
        self.legend = legend


class AnswerItem(Field):
    """One question as a row of large radio targets 1–5 (and 不适用 where the item is optional); pure HTML + CSS
    (Bootstrap's .btn-check), so it works without JavaScript and in WeChat's browser.

    Drawn here rather than through a template per radio: 24 questions × 6 radios through Django's widget templates
    cost about 100 ms of CPU per page, which 50 owners answering at once on 2 cores cannot afford
    (bench/online_answers.py). The markup is the same Django's RadioSelect would give (ids ``id_<code>_<n>``).
    """

    def __init__(self, question: Question, number: int, total: int):
        super().__init__(question.code)
        self.question, self.number, self.total = question, number, total

    def render(self, form, context, template_pack=TEMPLATE_PACK, **kwargs):
        # Plain string building over pre-escaped parts: format_html over lazy translations was most of the cost.
        field = form[self.question.code]
        value = field.value()
        value = "" if value is None else str(value)
        name, auto_id = escape(field.html_name), escape(field.auto_id)
        radios = "".join(
            f'<input type="radio" name="{name}" value="{escape(choice)}" class="btn-check" autocomplete="off" '
            f'id="{auto_id}_{index}"{" checked" if choice == value else ""}>'
            f'<label class="btn btn-outline-primary answer-choice{" answer-na" if choice == NOT_APPLICABLE else ""}" '
            f'for="{auto_id}_{index}">{escape(str(label))}</label>'
            for index, (choice, label) in enumerate(field.field.choices)
        )
        required = f' <span class="badge text-bg-warning">{escape(gettext("必答"))}</span>' if self.question.required else ""
        errors = field.errors
        error = (
            f'<div class="text-danger small mb-1" id="error-{name}">'
            + "".join(f"<strong>{escape(str(e))}</strong>" for e in errors) + "</div>"
            if errors else ""
        )  # fmt: skip
        invalid = f' aria-invalid="true" aria-describedby="error-{name}"' if errors else ""
        return mark_safe(  # noqa: S308 — every variable part above is escaped
            f'<fieldset class="answer-item mb-3{" is-invalid" if errors else ""}" id="div_id_{name}"{invalid}>'
            f'<legend class="fs-6 mb-1"><span class="text-body-secondary small">{self.number}/{self.total}</span> '
            f'{escape(str(field.label))}{required}</legend>'
            f'{error}<div class="answer-choices d-flex flex-wrap gap-2">{radios}</div></fieldset>'
        )


def comment_field_name(question: Question, index: int) -> str:
    """The first open comment question is posted as ``comment``; any further one by its own code."""
    return COMMENT_FIELD if index == 0 else question.code


class OnlineAnswerForm(forms.Form):
    """The invited owner's answers to the wave's questionnaire. Writes nothing: the view hands ``scores()`` and
    ``comments()`` to ``online.services.invitation_answer``."""

    use_required_attribute = False  # the server's Chinese message, not the browser's bubble (and WeChat's)

    def __init__(self, *args, questions: list[Question], comment_questions: list[Question] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.comment_questions = list(comment_questions)
        if self.is_bound:
            # 0 and empty mean "not answered" on every item; required-ness is checked in clean() with its own words.
            data = self.data.copy()
            for question in self.questions:
                if data.get(question.code, "") in ("", NOT_APPLICABLE):
                    data[question.code] = ""
            self.data = data
        for question in self.questions:
            choices = [(score, score) for score in SCORES]
            if not question.required:
                choices.append((NOT_APPLICABLE, _("不适用")))
            self.fields[question.code] = forms.ChoiceField(
                label=question.label,
                choices=choices,
                required=False,
                widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
                error_messages={"invalid_choice": _("请选择 1–5 分或不适用")},
            )
            self.fields[question.code].answer_required = question.required
        for index, question in enumerate(self.comment_questions):
            self.fields[comment_field_name(question, index)] = forms.CharField(
                label=question.label,
                required=question.required,
                max_length=COMMENT_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 4}),
                error_messages={
                    "required": _("请填写意见"),
                    "max_length": _("意见最多 %(limit)d 个字符") % {"limit": COMMENT_MAX_LENGTH},
                },
            )
        total = len(self.questions)
        numbers = {q.code: n for n, q in enumerate(self.questions, start=1)}
        self.helper = form_helper(
            *[
                AnswerGroup(legend, *[AnswerItem(q, numbers[q.code], total) for q in items])
                for legend, items in self.question_groups()
            ],
            *(
                [AnswerGroup(_("您的意见和建议"), *[
                    comment_field_name(q, i) for i, q in enumerate(self.comment_questions)
                ])]
                if self.comment_questions else []
            ),
            error_title=_("尚未提交：请补答标红的题目，您已选择的答案都已保留。"),
        )

    def clean(self):
        cleaned = super().clean()
        for question in self.questions:
            if question.required and cleaned.get(question.code) in (None, "") and question.code not in self.errors:
                self.add_error(question.code, _("必答题，请选择 1–5 分"))
        return cleaned

    def scores(self) -> dict[str, int | None]:
        return {
            q.code: int(value) if (value := self.cleaned_data.get(q.code) or "") in SCORES else None
            for q in self.questions
        }

    def comments(self) -> dict[str, str]:
        return {
            q.code: self.cleaned_data.get(comment_field_name(q, i), "") or ""
            for i, q in enumerate(self.comment_questions)
        }

    def question_groups(self) -> list[tuple[str, list[Question]]]:
        groups: dict[str, list[Question]] = {}
        for question in self.questions:
            groups.setdefault(question.port or "", []).append(question)
        ordered = []
        if "" in groups:
            ordered.append((_("总体评价"), groups.pop("")))
        ordered += [(port_label(port), items) for port, items in groups.items()]
        return ordered

    def answered_count(self) -> int:
        """How many items carry a score or 不适用 now (what was posted, or the stored answer shown)."""
        values = self.data if self.is_bound else self.initial
        return sum(1 for q in self.questions if (values.get(q.code) or "") in (*SCORES, NOT_APPLICABLE))

    @staticmethod
    def initial_for(
        *, questions: list[Question], comment_questions: list[Question], scores: dict[str, int | None],
        comments: dict[str, str],
    ) -> dict[str, str]:
        """The owner's stored answer, shown when they come back to change it."""
        initial = {}
        for question in questions:
            score = scores.get(question.code)
            if score is not None:
                initial[question.code] = str(score)
            elif not question.required:
                initial[question.code] = NOT_APPLICABLE
        for index, question in enumerate(comment_questions):
            if comments.get(question.code):
                initial[comment_field_name(question, index)] = comments[question.code]
        return initial


# --- Staff ------------------------------------------------------------------------------------------------------


class InvitationIssueForm(forms.Form):
    """Whom to give links to: the whole wave, one project, or some units of one project."""

    SCOPES = [("wave", _("整次调查（所有未答业主）")), ("project", _("一个楼盘的未答业主")), ("units", _("指定业主（按房号）"))]

    scope = forms.ChoiceField(label=_("范围"), choices=SCOPES, initial="wave", widget=forms.RadioSelect)
    project = forms.ModelChoiceField(
        label=_("楼盘"), queryset=Project.objects.order_by("code"), required=False,
        error_messages={"invalid_choice": _("请选择列表中的楼盘")},
    )
    units = forms.CharField(
        label=_("房号"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一个房号（同一房号有多位业主时都会生成）"), max_length=20000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper("scope", "project", "units", error_title=_("未生成链接：请改正标红的项目。"))

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope in ("project", "units") and not cleaned.get("project"):
            self.add_error("project", _("请选择楼盘"))
        if scope == "units":
            units = [line.strip() for line in (cleaned.get("units") or "").splitlines() if line.strip()]
            if not units:
                self.add_error("units", _("请填写至少一个房号"))
            cleaned["unit_list"] = units
        return cleaned
