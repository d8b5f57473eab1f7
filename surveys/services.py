"""Writes of survey waves, series, questionnaires and single responses (the importer is in ``surveys.importer``).

A closed wave takes no new or changed response from any path: every write of responses (this module's
``response_submit``, the importer, the background import job) takes the wave's row with ``survey_lock_open``
inside its transaction and stops there while the wave is closed. Owners' online answers take it shared (they
cannot clash with each other); every other writer and closing take it exclusively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from departments.ports import PortCode
from owners.models import Owner, Project
from owners.stages import STAGES, stage_as_of
from surveys.answers import answer_codes, encode_answers
from surveys.events import ResponseChange, response_state, responses_changed_send
from surveys.importing.jobs import import_job_start  # noqa: F401  (a write of this app; lives with the job machinery)
from surveys.models import (
    COMMENT_MAX_LENGTH,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireItem,
    Response,
    ResponseComment,
    Survey,
    SurveySeries,
    SurveySource,
)
from surveys.selectors import (
    questionnaire_is_frozen,
    questionnaire_items,
    questionnaire_latest,
    series_default_for,
    survey_answer_questions,
    survey_comment_questions,
    survey_has_responses,
)

# Answer strings are at most 255 characters (``Response.answers``): one per score question.
MAX_SCORE_QUESTIONS = 255
ITEM_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# The import file's own columns: a question may be headed neither by their keys nor by their labels.
RESERVED_COLUMNS = {
    "questionnaire_no": "问卷编号", "project_code": "楼盘编码", "project_name": "楼盘名称", "unit": "房号",
    "owner_name": "业主姓名", "phone": "联系电话", "move_in_date": "入住日期", "surveyed_on": "调查日期",
    "channel": "调查方式",
}  # fmt: skip
HEADLINE_REQUIRED = ("overall",)
LOYALTY_ITEMS = ("overall", "repurchase", "recommend")


# --- Closed waves -------------------------------------------------------------------------------------------------


def survey_closed_message(survey: Survey) -> str:
    return f"调查“{survey.name}”已关闭，不再接受新的或修改的答卷；如需补录请先重新开放"


def survey_lock_open(*, survey_id: int, shared: bool = False) -> Survey:
    """The wave's row, locked for the rest of the transaction (closing waits for it, and it for closing);
    ValidationError in plain words when the wave is closed. Call inside the transaction that writes responses.

    ``shared``: a share lock (PostgreSQL ``FOR SHARE``) for a writer that cannot clash with another writer of the
    same wave — one owner's own online answer, already serialised on its invitation: such writers run side by side,
    while closing (and every exclusive writer: entry, import) still waits for them and they for it. SQLite has one
    writer anyway.
    """
    if shared and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Survey._meta.db_table} WHERE id = %s FOR SHARE", [survey_id])
        survey = Survey.objects.get(pk=survey_id)
        if survey.closed_at is not None:
            raise ValidationError(survey_closed_message(survey), code="survey_closed")
        return survey
    survey = Survey.objects.select_for_update().get(pk=survey_id)
    if survey.closed_at is not None:
        raise ValidationError(survey_closed_message(survey), code="survey_closed")
    return survey


@transaction.atomic
def survey_close(*, survey: Survey, user=None, now: datetime | None = None) -> Survey:
    """Close the wave: from now on every path refuses new and changed responses. Closing twice keeps the first time."""
    locked = Survey.objects.select_for_update().get(pk=survey.pk)
    if locked.closed_at is None:
        locked.closed_at = now or timezone.now()
        locked.closed_by = user if getattr(user, "pk", None) else None
        locked.save(update_fields=["closed_at", "closed_by"])
    survey.closed_at, survey.closed_by_id = locked.closed_at, locked.closed_by_id
    return locked


@transaction.atomic
def survey_reopen(*, survey: Survey) -> Survey:
    """Open a closed wave again (to key in late questionnaires, say)."""
    locked = Survey.objects.select_for_update().get(pk=survey.pk)
    if locked.closed_at is not None:
        locked.closed_at = None
        locked.closed_by = None
        locked.save(update_fields=["closed_at", "closed_by"])
    survey.closed_at, survey.closed_by_id = None, None
    return locked


# --- Series -------------------------------------------------------------------------------------------------------


def series_create(*, code: str, name: str, source: str = SurveySource.TOUCHPOINT) -> SurveySeries:
    """A new series (a kind of touch-point survey, typically), listed after the existing ones."""
    code, name = (code or "").strip(), (name or "").strip()
    errors: dict[str, str] = {}
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", code):
        errors["code"] = "系列编码只能使用小写字母、数字、“-”和“_”，最多 32 个字符"
    elif SurveySeries.objects.filter(code=code).exists():
        errors["code"] = f"系列编码“{code}”已存在"
    if not name:
        errors["name"] = "请填写系列名称"
    if source not in SurveySource.values:
        errors["source"] = f"未知来源“{source}”"
    if errors:
        raise ValidationError(errors)
    position = (SurveySeries.objects.aggregate(last=Max("position"))["last"] or 0) + 1
    return SurveySeries.objects.create(code=code, name=name[:100], source=source, position=position)


def series_update(*, series: SurveySeries, name: str, is_active: bool) -> SurveySeries:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写系列名称"})
    series.name, series.is_active = name[:100], is_active
    series.save(update_fields=["name", "is_active"])
    return series


# --- Questionnaires -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDef:
    """One questionnaire item as a form, the API or a definition gives it (``surveys.questionnaires.QuestionDef``
    has the same fields)."""

    code: str
    label: str
    kind: str
    port: str = ""
    required: bool = False


def questionnaire_items_validate(items: Sequence) -> list[str]:
    """Every reason these items cannot make a questionnaire (Chinese, one line each); empty when they can."""
    problems: list[str] = []
    codes: dict[str, int] = {}
    labels: dict[str, int] = {}
    port_items: dict[str, str] = {}
    reserved_labels = {label: key for key, label in RESERVED_COLUMNS.items()}
    scores = 0
    for number, item in enumerate(items, start=1):
        where = f"第 {number} 题"
        code, label = (item.code or "").strip(), (item.label or "").strip()
        if not ITEM_CODE.match(code):
            problems.append(f"{where}：编码“{code}”无效（小写字母开头，只含小写字母、数字和“_”，最多 64 个字符）")
        elif code in RESERVED_COLUMNS:
            problems.append(f"{where}：编码“{code}”是导入文件的固定列，请换一个")
        elif code in codes:
            problems.append(f"{where}：编码“{code}”与第 {codes[code]} 题重复")
        else:
            codes[code] = number
        if not label:
            problems.append(f"{where}：请填写题目文字")
        elif len(label) > 100:
            problems.append(f"{where}：题目文字最多 100 个字符")
        elif label in reserved_labels:
            problems.append(f"{where}：题目文字“{label}”与导入文件的固定列相同，请换一个")
        elif label in labels:
            problems.append(f"{where}：题目文字“{label}”与第 {labels[label]} 题相同（导入文件按题目文字识别列）")
        else:
            labels[label] = number
        if item.kind not in QuestionKind.values:
            problems.append(f"{where}：未知题型“{item.kind}”")
            continue
        if item.port and item.port not in PortCode.values:
            problems.append(f"{where}：未知端口“{item.port}”")
        if item.kind == QuestionKind.HEADLINE and item.port:
            problems.append(f"{where}：核心指标题不属于任何端口")
        if item.kind in (QuestionKind.PORT, QuestionKind.DETAIL) and not item.port:
            problems.append(f"{where}：端口总体题和细项题必须选择端口")
        if item.kind == QuestionKind.PORT and item.port:
            if item.port in port_items:
                problems.append(f"{where}：端口“{PortCode(item.port).label}”已有总体题“{port_items[item.port]}”")
            port_items[item.port] = code
        if item.kind == QuestionKind.COMMENT and code == "comment":
            pass  # the online form names the first comment field ``comment`` anyway
        elif code == "comment":
            problems.append(f"{where}：编码“comment”留给开放意见题")
        if item.kind != QuestionKind.COMMENT:
            scores += 1
        if code in LOYALTY_ITEMS and item.kind != QuestionKind.HEADLINE:
            problems.append(f"{where}：“{code}”必须是核心指标题（总体满意度、忠诚度按它计算）")
    for code in HEADLINE_REQUIRED:
        if code not in codes:
            problems.append(f"问卷必须包含核心指标题“{code}”（总体满意度）")
    if scores > MAX_SCORE_QUESTIONS:
        problems.append(f"评分题最多 {MAX_SCORE_QUESTIONS} 道")
    return problems


def _item_defs(items: Iterable) -> list[ItemDef]:
    return [
        ItemDef(
            code=(item.code or "").strip(),
            label=(item.label or "").strip(),
            kind=item.kind,
            port="" if item.kind == QuestionKind.HEADLINE else (item.port or ""),
            required=bool(item.required),
        )
        for item in items
    ]


def _write_items(questionnaire: Questionnaire, items: list[ItemDef]) -> None:
    QuestionnaireItem.objects.filter(questionnaire=questionnaire).delete()
    QuestionnaireItem.objects.bulk_create(
        QuestionnaireItem(
            questionnaire=questionnaire, code=item.code, label=item.label, kind=item.kind, port=item.port,
            position=position, required=item.required,
        )
        for position, item in enumerate(items)
    )


@transaction.atomic
def questionnaire_create(
    *, code: str, name: str, items: Sequence, based_on: Questionnaire | None = None, user=None
) -> Questionnaire:
    """Version 1 of a new questionnaire."""
    code, name = (code or "").strip(), (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", code):
        errors["code"] = ["问卷编码只能使用小写字母、数字、“-”和“_”，最多 64 个字符"]
    elif Questionnaire.objects.filter(code=code).exists():
        errors["code"] = [f"问卷编码“{code}”已存在"]
    if not name:
        errors["name"] = ["请填写问卷名称"]
    defs = _item_defs(items)
    problems = questionnaire_items_validate(defs)
    if problems:
        errors["items"] = problems
    if errors:
        raise ValidationError(errors)
    questionnaire = Questionnaire.objects.create(
        code=code, version=1, name=name[:100], based_on=based_on, created_by=user if getattr(user, "pk", None) else None
    )
    _write_items(questionnaire, defs)
    return questionnaire


def questionnaire_copy(*, source: Questionnaire, code: str, name: str, user=None) -> Questionnaire:
    """A new questionnaire with the items of ``source`` (to change for a new kind of wave)."""
    return questionnaire_create(
        code=code, name=name, items=questionnaire_items(questionnaire=source), based_on=source, user=user
    )


@transaction.atomic
def questionnaire_save(*, questionnaire: Questionnaire, name: str, items: Sequence, user=None) -> Questionnaire:
    """Change a questionnaire's name and items.

    A frozen version (a wave with responses asks it) is never changed: the edit becomes the next version, for
    waves created later, and no stored answer or number moves. An unfrozen version changes in place, and every
    wave that asks it (none has responses) gets its questions again. Returns the version that holds the edit.
    """
    name = (name or "").strip()
    defs = _item_defs(items)
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["请填写问卷名称"]
    problems = questionnaire_items_validate(defs)
    if problems:
        errors["items"] = problems
    if errors:
        raise ValidationError(errors)
    # Lock the waves that ask this version first: a response arriving now either lands before (and the
    # version is frozen below) or waits for the new questions.
    waves = list(Survey.objects.select_for_update().filter(questionnaire=questionnaire).order_by("id"))
    if questionnaire_is_frozen(questionnaire=questionnaire):
        latest = Questionnaire.objects.filter(code=questionnaire.code).aggregate(last=Max("version"))["last"]
        target = Questionnaire.objects.create(
            code=questionnaire.code,
            version=latest + 1,
            name=name[:100],
            based_on=questionnaire,
            created_by=user if getattr(user, "pk", None) else None,
        )
        _write_items(target, defs)
        return target
    questionnaire.name = name[:100]
    questionnaire.save(update_fields=["name"])
    _write_items(questionnaire, defs)
    for wave in waves:
        _questions_sync(wave)
    return questionnaire


def _questions_sync(survey: Survey) -> None:
    """Give a wave without responses the questions of its questionnaire version."""
    Question.objects.filter(survey=survey).delete()
    Question.objects.bulk_create(
        Question(
            survey=survey, code=item.code, label=item.label, kind=item.kind, port=item.port, position=item.position,
            required=item.required,
        )
        for item in questionnaire_items(questionnaire=survey.questionnaire)
    )


# --- Waves --------------------------------------------------------------------------------------------------------


def _resolve_series(series: SurveySeries | str | None, source: str | None) -> SurveySeries | None:
    if isinstance(series, SurveySeries):
        return series
    if series:
        return SurveySeries.objects.filter(code=series).first()
    return series_default_for(source=source or SurveySource.COMPANY)


def _resolve_questionnaire(questionnaire: Questionnaire | str | None) -> Questionnaire | None:
    if isinstance(questionnaire, Questionnaire):
        return questionnaire
    return questionnaire_latest(code=questionnaire or "standard")


def _wave_errors(
    *,
    code: str,
    name: str,
    source: str,
    series: SurveySeries | None,
    series_given,
    questionnaire: Questionnaire | None,
    questionnaire_given,
    starts_on: date | None,
    ends_on: date | None,
    target_stages: Sequence[str],
    weighting: str,
    exclude_pk: int | None = None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", code or ""):
        errors["code"] = "调查编码只能使用字母、数字、“-”和“_”，最多 64 个字符"
    elif Survey.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        errors["code"] = f"调查编码“{code}”已存在"
    if not (name or "").strip():
        errors["name"] = "请填写调查名称"
    if source not in SurveySource.values:
        errors["source"] = f"未知来源“{source}”，可选：{', '.join(SurveySource.values)}"
    if series is None:
        errors["series"] = (
            f"未知系列“{series_given}”" if series_given else f"没有与来源“{source}”同名的系列：请指定系列"
        )
    elif source in SurveySource.values and series.source != source:
        errors["series"] = (
            f"系列“{series.name}”属于“{SurveySource(series.source).label}”，与调查来源“{SurveySource(source).label}”不一致"
        )
    if questionnaire is None:
        known = ", ".join(sorted(set(Questionnaire.objects.values_list("code", flat=True))))
        errors["questionnaire"] = f"未知问卷“{questionnaire_given}”，可选：{known}"
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期"
    unknown = [stage for stage in target_stages if stage not in STAGES]
    if unknown:
        errors["target_stages"] = f"未知业主阶段：{'、'.join(unknown)}"
    if weighting not in Survey.Weighting.values:
        errors["weighting"] = f"未知加权方式“{weighting}”，可选：{', '.join(Survey.Weighting.values)}"
    return errors


def _ordered_stages(stages: Iterable[str]) -> list[str]:
    chosen = set(stages)
    return [stage for stage in STAGES if stage in chosen] + sorted(chosen - set(STAGES))


@transaction.atomic
def survey_create(
    *,
    code: str,
    name: str,
    source: str | None = None,
    series: SurveySeries | str | None = None,
    questionnaire: Questionnaire | str | None = "standard",
    starts_on: date | None = None,
    ends_on: date | None = None,
    target_projects: Iterable[Project] = (),
    target_stages: Sequence[str] = (),
    weighting: str = Survey.Weighting.NONE,
) -> Survey:
    """A wave with the questions of a questionnaire version (a code means its newest version).

    ``series`` defaults to the series coded like the source; ``source`` defaults to the series' source, else
    company. The period is the fieldwork window; empty targets mean every project and every stage.
    """
    resolved_series = _resolve_series(series, source)
    if source is None:
        source = resolved_series.source if resolved_series else SurveySource.COMPANY
    resolved_questionnaire = _resolve_questionnaire(questionnaire)
    target_stages = _ordered_stages(target_stages)
    errors = _wave_errors(
        code=code, name=name, source=source, series=resolved_series, series_given=series,
        questionnaire=resolved_questionnaire, questionnaire_given=questionnaire, starts_on=starts_on, ends_on=ends_on,
        target_stages=target_stages, weighting=weighting,
    )  # fmt: skip
    if errors:
        raise ValidationError(errors)
    survey = Survey(
        code=code,
        name=name.strip(),
        source=source,
        series=resolved_series,
        questionnaire=resolved_questionnaire,
        starts_on=starts_on,
        ends_on=ends_on,
        target_stages=target_stages,
        weighting=weighting,
    )
    survey.full_clean()
    survey.save()
    survey.target_projects.set(list(target_projects))
    _questions_sync(survey)
    return survey


@transaction.atomic
def survey_update(
    *,
    survey: Survey,
    code: str,
    name: str,
    source: str,
    series: SurveySeries | str | None,
    questionnaire: Questionnaire | str | None,
    starts_on: date | None,
    ends_on: date | None,
    target_projects: Iterable[Project],
    target_stages: Sequence[str],
    weighting: str,
) -> Survey:
    """Change a wave. Its questionnaire version may change only while nobody has answered it (the answer strings
    are positional over its questions); then its questions are copied again."""
    locked = Survey.objects.select_for_update().get(pk=survey.pk)
    resolved_series = _resolve_series(series, source)
    resolved_questionnaire = _resolve_questionnaire(questionnaire)
    target_stages = _ordered_stages(target_stages)
    errors = _wave_errors(
        code=code, name=name, source=source, series=resolved_series, series_given=series,
        questionnaire=resolved_questionnaire, questionnaire_given=questionnaire, starts_on=starts_on, ends_on=ends_on,
        target_stages=target_stages, weighting=weighting, exclude_pk=locked.pk,
    )  # fmt: skip
    new_questionnaire = resolved_questionnaire is not None and resolved_questionnaire.pk != locked.questionnaire_id
    if new_questionnaire and survey_has_responses(survey=locked):
        errors["questionnaire"] = "该调查已有答卷，不能更换问卷（答卷按题目顺序保存）；请为新问卷新建一次调查"
    if errors:
        raise ValidationError(errors)
    # What the owner population a weighted survey is weighted to depends on (DESIGN.md §2 "Weighting").
    weighting_before = (locked.weighting, locked.starts_on, set(locked.target_projects.values_list("pk", flat=True)))
    locked.code, locked.name, locked.source = code, name.strip(), source
    locked.series, locked.questionnaire = resolved_series, resolved_questionnaire
    locked.starts_on, locked.ends_on = starts_on, ends_on
    locked.target_stages, locked.weighting = target_stages, weighting
    locked.full_clean()
    locked.save()
    locked.target_projects.set(list(target_projects))
    if new_questionnaire:
        _questions_sync(locked)
    weighting_after = (locked.weighting, locked.starts_on, set(locked.target_projects.values_list("pk", flat=True)))
    weighted = Survey.Weighting.POPULATION in (weighting_before[0], weighting_after[0])
    if weighted and weighting_after != weighting_before and survey_has_responses(survey=locked):
        # Every weighted figure moves: the numbers are recomputed in full (the receivers' "cannot say" change).
        responses_changed_send(survey_id=locked.pk, changes=None)
    return locked


# --- Responses ----------------------------------------------------------------------------------------------------


def _comment_changes(*, survey: Survey, comments: Mapping[str, str]) -> list[tuple[Question, str]]:
    """(question, new text) for each comment given; unknown codes and over-long texts are errors."""
    questions = {q.code: q for q in survey_comment_questions(survey=survey)}
    unknown = sorted(set(comments) - set(questions))
    if unknown:
        raise ValidationError({"comments": f"本次调查没有这些开放意见题：{'、'.join(unknown)}"})
    changes = []
    for code, text in comments.items():
        text = (text or "").strip()
        if len(text) > COMMENT_MAX_LENGTH:
            raise ValidationError({"comments": f"“{questions[code].label}”最多 {COMMENT_MAX_LENGTH} 个字符"})
        changes.append((questions[code], text))
    return changes


def _save_comments(response: Response, changes: list[tuple[Question, str]]) -> None:
    stored = {c.question_id: c for c in ResponseComment.objects.filter(response=response)}
    for question, text in changes:
        current = stored.get(question.pk)
        if not text:
            if current is not None:
                current.delete()
        elif current is None:
            ResponseComment.objects.create(response=response, question=question, text=text)
        elif current.text != text:
            current.text = text
            current.save(update_fields=["text"])


def response_check(*, survey: Survey, owner: Owner, questionnaire_no: str, scores: dict[str, int | None]) -> str:
    """The checks every write of one questionnaire passes, whatever its path (entry, API, admin); the answer string.

    Raises ValidationError keyed by field: ``scores`` when a required question is unanswered, ``questionnaire_no``
    when another owner's response in this survey has the number.
    """
    questions = survey_answer_questions(survey=survey)
    missing = [q.label for q in questions if q.required and scores.get(q.code) is None]
    if missing:
        raise ValidationError({"scores": f"必答题未回答：{'、'.join(missing)}"})
    clash = Response.objects.filter(survey=survey, questionnaire_no=questionnaire_no).exclude(owner=owner)
    if clash.exists():
        raise ValidationError({"questionnaire_no": f"问卷编号“{questionnaire_no}”在本次调查中已被其他业主使用"})
    return encode_answers(answer_codes(questions), scores)


def response_submit(
    *,
    survey: Survey,
    owner: Owner,
    questionnaire_no: str,
    surveyed_on: date,
    scores: dict[str, int | None],
    channel: str = "",
    comments: Mapping[str, str] | None = None,
    shared_lock: bool = False,
) -> tuple[Response, bool]:
    """Save one questionnaire: a new response, or the owner's existing one in this survey updated.

    Returns (response, created). The stage is frozen as of the survey date; the recompute is queued on commit.
    ``comments`` ({comment question code: text}, blank = none) replaces the texts it names; None leaves them.
    Refused (ValidationError) while the wave is closed. ``shared_lock``: see ``survey_lock_open`` (only for a
    caller that already serialises the writes of this owner and whose questionnaire number no other owner uses).
    """
    stage = stage_as_of(owner.move_in_date, surveyed_on)
    with transaction.atomic():
        survey = survey_lock_open(survey_id=survey.pk, shared=shared_lock)
        response = Response.objects.select_for_update().filter(survey=survey, owner=owner).first()
        answers = response_check(survey=survey, owner=owner, questionnaire_no=questionnaire_no, scores=scores)
        comment_changes = _comment_changes(survey=survey, comments=comments or {})
        created = response is None
        before = None if created else response_state(response)
        if created:
            response = Response(survey=survey, owner=owner, project_id=owner.project_id)
        response.questionnaire_no = questionnaire_no
        response.surveyed_on = surveyed_on
        response.stage = stage
        response.channel = channel
        response.answers = answers
        response.project_id = owner.project_id
        response.full_clean(validate_unique=False)
        response.save()
        if comment_changes:
            _save_comments(response, comment_changes)
        responses_changed_send(survey_id=survey.pk, changes=[ResponseChange(before, response_state(response))])
    return response, created


def responses_delete(*, responses: Iterable[Response]) -> int:
    """Delete responses (the admin's path): each leaves a deletion row in its history, and each survey that lost
    some tells the metrics, once, what they took away. A closed wave's responses are refused like any other
    change. Returns how many were deleted."""
    removed: dict[int, list[ResponseChange]] = {}
    with transaction.atomic():
        checked: set[int] = set()
        for response in responses:  # one by one, so that each deletion is recorded in the history
            if response.survey_id not in checked:
                survey_lock_open(survey_id=response.survey_id)
                checked.add(response.survey_id)
            removed.setdefault(response.survey_id, []).append(ResponseChange(response_state(response), None))
            response.delete()
        for survey_id, changes in sorted(removed.items()):
            responses_changed_send(survey_id=survey_id, changes=changes)
    return sum(len(changes) for changes in removed.values())

