"""Import of a survey firm's questionnaires (DESIGN.md §4 "Import file"): all or nothing, re-import safe.

Reading and checking the cells needs no database; the checks against stored data (new projects need a name,
an owner already surveyed under another number) and every write run in one transaction under an import lock,
so what was checked is what gets written.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.spreadsheets import cells
from core.spreadsheets.cells import ColumnSpec, IssueList, ParsedColumn
from core.spreadsheets.files import read_checked
from core.spreadsheets.results import ImportResult, Progress, report_progress
from owners.stages import stages_as_of
from surveys.answers import answer_codes, encode_answer_matrix
from surveys.events import ResponseChange, ResponseState, responses_changed_send
from surveys.importing.bulk import insert_with_history, update_with_history
from surveys.importing.comments import comment_write_plan
from surveys.importing.owners import owner_write_plan, project_plan, stored_move_in, stored_owners
from surveys.models import COMMENT_MAX_LENGTH, Channel, QuestionKind, Response, Survey

CHANNEL_REASON = "调查方式必须是 电话、网络、上门、纸质（或 phone、online、visit、paper）之一"
parse_channel = cells.labelled_choice_parser(Channel.choices, CHANNEL_REASON)

logger = logging.getLogger(__name__)

# One import at a time: two files naming the same new owner must not both create them.
IMPORT_LOCK_KEY = 746_275_001

META_COLUMNS = (
    ColumnSpec("questionnaire_no", "问卷编号", cells.text_parser(64), required=True, few_distinct=False),
    ColumnSpec("project_code", "楼盘编码", cells.text_parser(32), required=True),
    ColumnSpec("project_name", "楼盘名称", cells.text_parser(100)),
    ColumnSpec("unit", "房号", cells.text_parser(32), required=True, few_distinct=False),
    ColumnSpec("owner_name", "业主姓名", cells.text_parser(50), required=True, few_distinct=False),
    ColumnSpec("phone", "联系电话", cells.text_parser(20), few_distinct=False),
    ColumnSpec("move_in_date", "入住日期", cells.parse_date),
    ColumnSpec("surveyed_on", "调查日期", cells.parse_date, required=True),
    ColumnSpec("channel", "调查方式", parse_channel),
)

RESPONSE_COMPARED = ("owner_id", "project_id", "surveyed_on", "stage", "channel", "answers")



def response_columns(*, survey: Survey) -> list[ColumnSpec]:
    """The file's columns for this survey: the fixed ones, then one per question in questionnaire order (a scored
    question's cells are scores, an open comment question's are text)."""
    from surveys.selectors import survey_questions

    return [
        *META_COLUMNS,
        *(
            ColumnSpec(q.code, q.label, cells.text_parser(COMMENT_MAX_LENGTH), few_distinct=False)
            if q.kind == QuestionKind.COMMENT
            else ColumnSpec(q.code, q.label, cells.parse_score, column_required=q.required)
            for q in survey_questions(survey=survey)
        ),
    ]


def import_lock() -> None:
    """Serialise imports (PostgreSQL advisory lock for the transaction; SQLite already has one writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
            # Parents are always written before their children, so foreign keys can be checked as rows arrive;
            # Django declares them deferred, and a queue of 300k deferred checks made the commit seconds slower.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def score_matrix(codes: list[str], columns: dict[str, ParsedColumn], n: int) -> np.ndarray:
    """The parsed score columns as the codec's int8 matrix (0 = not answered, and for a column not in the file)."""
    matrix = np.zeros((n, len(codes)), dtype=np.int8)
    for position, code in enumerate(codes):
        column = columns.get(code)
        if column is None:
            continue
        if column.codes is not None:
            # A column holds a handful of distinct scores: convert those, then spread them.
            matrix[:, position] = np.array([v or 0 for v in column.uniques], dtype=np.int8)[column.codes]
        else:
            matrix[:, position] = np.array([v or 0 for v in column.values], dtype=np.int8)
    return matrix


def responses_import(
    *, survey: Survey, data: bytes, file_name: str, user=None, progress: Progress = None
) -> ImportResult:
    """Import a survey firm's file into ``survey``: every row checked, nothing written if any is wrong.

    New project codes create projects, owners (project, unit, name) are created or their phone and move-in
    date updated, each questionnaire number creates or updates its response (stage frozen as of the survey
    date); unchanged rows are not touched. History rows name ``user``.
    """
    report_progress(progress, 1)
    sheet = read_checked(data=data, file_name=file_name)
    if isinstance(sheet, ImportResult):
        return sheet
    report_progress(progress, 30)
    from surveys.selectors import survey_answer_questions, survey_comment_questions

    questions = survey_answer_questions(survey=survey)
    question_codes = answer_codes(questions)
    comment_questions = survey_comment_questions(survey=survey)
    specs = response_columns(survey=survey)
    issues = IssueList()
    parsed = cells.parse_columns(sheet, specs, issues)
    n = sheet.row_count
    if n == 0:
        issues.add(row=0, column="", value=file_name, reason="文件中没有数据行（第 2 行起应为每份问卷一行）")
        return ImportResult(errors=issues.sorted(), total_rows=0)
    rows = sheet.row_numbers
    values = {key: column.values for key, column in parsed.items()}
    bad = {key: column.bad for key, column in parsed.items()}
    empty = np.full(n, "", dtype=object)
    nothing = np.full(n, None, dtype=object)
    qno = values.get("questionnaire_no", empty)
    code = values.get("project_code", empty)
    unit = values.get("unit", empty)
    name = values.get("owner_name", empty)
    project_name = values.get("project_name", empty)
    owner_header = parsed["owner_name"].header if "owner_name" in parsed else "业主姓名"
    _check_duplicates(parsed, qno, code, unit, name, rows, issues)
    report_progress(progress, 45)

    user_id = getattr(user, "pk", None)
    now = timezone.now()
    reason = f"导入：{file_name}"[:100]
    try:
        with transaction.atomic():
            import_lock()
            refusal = _survey_refusal(survey, questions, comment_questions, file_name)
            if refusal is not None:
                return refusal
            # Checks against what is stored.
            key_ok = ~(bad.get("project_code", np.zeros(n, bool)))
            projects = project_plan(
                codes_and_names=[(c, pn) for c, pn, ok in zip(code, project_name, key_ok, strict=True) if ok and c]
            )
            for position in np.flatnonzero(key_ok):
                c = code[position]
                if c and c in projects.new_names and not project_name[position]:
                    issues.add(
                        row=int(rows[position]),
                        column=parsed["project_name"].header if "project_name" in parsed else "楼盘名称",
                        value="",
                        reason=f"楼盘编码“{c}”是新楼盘：请填写楼盘名称",
                        column_index=parsed["project_name"].index if "project_name" in parsed else -1,
                    )
            stored = stored_owners(project_ids=list(projects.ids.values()))
            existing = _stored_responses(survey)
            file_qnos = set(qno[qno != ""]) if n else set()
            qno_by_owner = {row[3]: number for number, row in existing.items()}
            for position in range(n) if qno_by_owner else ():
                pid = projects.ids.get(code[position])
                if pid is None or not unit[position] or not name[position] or not qno[position]:
                    continue
                owner = stored.get((pid, unit[position], name[position]))
                if owner is None:
                    continue
                other = qno_by_owner.get(owner.id)
                if other is not None and other != qno[position] and other not in file_qnos:
                    issues.add(
                        row=int(rows[position]),
                        column=owner_header,
                        value=name[position],
                        reason=f"该业主在本次调查中已有答卷（问卷编号 {other}）：一位业主在一次调查中只能有一份答卷",
                        column_index=parsed["owner_name"].index,
                    )
            if issues:
                return ImportResult(errors=issues.sorted(), total_rows=n)
            report_progress(progress, 55)

            # Plan the writes.
            new_projects = sorted(projects.new_names.items())
            projects.create(at=now)
            phone = values.get("phone", empty)
            has_move_in_column = "move_in_date" in values
            move_in = values.get("move_in_date", nothing)
            owner_keys = list(zip(code.tolist(), unit.tolist(), name.tolist(), strict=True))
            file_owners = {
                key: {"phone": p, "move_in_date": m}
                for key, p, m in zip(owner_keys, phone.tolist(), move_in.tolist(), strict=True)
            }
            owner_plan = owner_write_plan(owners=file_owners, project_ids=projects.ids, stored=stored, at=now)
            owner_plan.write(user_id=user_id, at=now, reason=reason, progress=None)
            new_owners = list(owner_plan.insert_keys)
            report_progress(progress, 70)
            if not has_move_in_column:  # not in the file: the stage follows what is stored
                move_in = np.array(
                    [stored_move_in(stored, projects.ids[c], u, nm) for c, u, nm in zip(code, unit, name, strict=True)],
                    dtype=object,
                )
            surveyed_on = values["surveyed_on"]
            stage = stages_as_of(move_in, surveyed_on)
            answers = encode_answer_matrix(score_matrix(question_codes, parsed, n))
            channel = values.get("channel", empty)
            inserts, updates, unchanged = [], [], 0
            updated_from: list[tuple] = []  # (id, survey, number, owner, project, stage, answers) before the update
            owner_ids, project_ids = owner_plan.ids, projects.ids
            # Plain lists and tuples: this loop runs once per row (100,000 times for a large file).
            for key, number, surveyed, row_stage, row_channel, row_answers in zip(
                owner_keys,
                qno.tolist(),
                surveyed_on.tolist(),
                stage.tolist(),
                channel.tolist(),
                answers.tolist(),
                strict=True,
            ):
                new = (owner_ids[key], project_ids[key[0]], surveyed, row_stage, row_channel, row_answers)
                current = existing.get(number)
                if current is None:
                    inserts.append(
                        {
                            **dict(zip(RESPONSE_COMPARED, new, strict=True)),
                            "survey_id": survey.pk,
                            "questionnaire_no": number,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                elif current[3:] != new:
                    updated_from.append((*current[:4], current[4], current[6], current[8]))
                    updates.append(
                        {
                            "id": current[0],
                            "survey_id": current[1],
                            "questionnaire_no": number,
                            **dict(zip(RESPONSE_COMPARED, new, strict=True)),
                            "updated_at": now,
                        }
                    )
                else:
                    unchanged += 1
            total_writes = max(len(inserts) + len(updates), 1)

            def write_progress(done: int) -> None:
                report_progress(progress, 70 + 28 * done / total_writes)

            new_ids = insert_with_history(
                Response, inserts, user_id=user_id, at=now, reason=reason, progress=write_progress
            )
            update_with_history(
                Response,
                updates,
                fields=[*RESPONSE_COMPARED, "updated_at"],
                user_id=user_id,
                at=now,
                reason=reason,
                progress=lambda done: write_progress(len(inserts) + done),
            )
            comments_changed = 0
            if comment_questions:
                response_ids = {row["questionnaire_no"]: new_id for row, new_id in zip(inserts, new_ids, strict=True)}
                response_ids.update({number: row[0] for number, row in existing.items()})
                comment_plan = comment_write_plan(
                    questions=[q for q in comment_questions if q.code in parsed],
                    texts={q.code: parsed[q.code].values for q in comment_questions if q.code in parsed},
                    response_ids=[response_ids[number] for number in qno.tolist()],
                )
                comment_plan.write(user_id=user_id, at=now, reason=reason)
                # A row whose only change is a comment counts as updated.
                updated_ids = {row["id"] for row in updates}
                inserted_ids = set(new_ids)
                comments_changed = len(comment_plan.changed_response_ids - updated_ids - inserted_ids)
                unchanged -= comments_changed
            if inserts or updates or comments_changed:
                # A comment is never in the metrics: only score changes are the metrics' changes.
                changes = [ResponseChange(None, ResponseState(row["project_id"], row["stage"], row["answers"]))
                           for row in inserts]
                changes += [
                    ResponseChange(
                        ResponseState(*before[4:7]), ResponseState(row["project_id"], row["stage"], row["answers"])
                    )
                    for row, before in zip(updates, updated_from, strict=True)
                ]
                responses_changed_send(survey_id=survey.pk, changes=changes)
    except IntegrityError:
        logger.warning("import of %s into survey %s hit a concurrent change", file_name, survey.pk, exc_info=True)
        return ImportResult.refusal(
            ["导入期间有人同时修改了这些业主或答卷，本次未写入任何数据：请稍后重新导入"], file_name=file_name
        )
    report_progress(progress, 100)
    return ImportResult(
        created=len(inserts),
        updated=len(updates) + comments_changed,
        unchanged=unchanged,
        total_rows=n,
        created_projects=new_projects,
        created_owners=new_owners,
    )


def _survey_refusal(survey: Survey, questions, comment_questions, file_name: str) -> ImportResult | None:
    """Inside the import's transaction: a closed wave refuses the file; so does a wave whose questions changed
    since the file was checked against them (its questionnaire was edited meanwhile)."""
    from django.core.exceptions import ValidationError

    from surveys.selectors import survey_questions
    from surveys.services import survey_lock_open

    try:
        survey_lock_open(survey_id=survey.pk)
    except ValidationError as exc:
        return ImportResult.refusal(exc.messages, file_name=file_name)
    checked = [(q.pk, q.code, q.kind) for q in sorted([*questions, *comment_questions], key=lambda q: q.position)]
    if checked != [(q.pk, q.code, q.kind) for q in survey_questions(survey=survey)]:
        return ImportResult.refusal(
            ["导入期间该调查的问卷被修改，本次未写入任何数据：请下载新的模板后重新导入"], file_name=file_name
        )
    return None


def _stored_responses(survey: Survey) -> dict[str, tuple]:
    """{questionnaire number: (id, survey id, questionnaire number, *RESPONSE_COMPARED)} of the survey."""
    rows = (
        Response.objects.filter(survey=survey)
        .order_by()
        .values_list("id", "survey_id", "questionnaire_no", *RESPONSE_COMPARED)
    )
    return {row[2]: row for row in rows}


def _check_duplicates(parsed, qno, code, unit, name, rows, issues: IssueList) -> None:
    n = len(rows)
    if "questionnaire_no" in parsed:
        ok = ~parsed["questionnaire_no"].bad & (qno != "")
        positions = np.flatnonzero(ok)
        repeats, firsts = cells.first_occurrence_rows(pd.Series(qno[positions]), rows[positions])
        column = parsed["questionnaire_no"]
        for repeat, first in zip(repeats, firsts, strict=True):
            position = positions[repeat]
            issues.add(
                row=int(rows[position]),
                column=column.header,
                value=qno[position],
                reason=f"问卷编号重复：与第 {first} 行相同",
                column_index=column.index,
            )
    if all(key in parsed for key in ("project_code", "unit", "owner_name")):
        ok = np.ones(n, dtype=bool)
        for key in ("project_code", "unit", "owner_name"):
            ok &= ~parsed[key].bad
        ok &= (code != "") & (unit != "") & (name != "")
        positions = np.flatnonzero(ok)
        keys = pd.Series(
            [f"{c}\x1f{u}\x1f{m}" for c, u, m in zip(code[positions], unit[positions], name[positions], strict=True)]
        )
        repeats, firsts = cells.first_occurrence_rows(keys, rows[positions])
        column = parsed["owner_name"]
        for repeat, first in zip(repeats, firsts, strict=True):
            position = positions[repeat]
            issues.add(
                row=int(rows[position]),
                column=column.header,
                value=name[position],
                reason=(
                    f"同一业主（楼盘 {code[position]}、房号 {unit[position]}、{name[position]}）在文件中出现两次："
                    f"与第 {first} 行相同；一位业主在一次调查中只能有一份答卷"
                ),
                column_index=column.index,
            )
