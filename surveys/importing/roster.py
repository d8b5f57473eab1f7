"""Import of the owner roster (业主名册): projects and owners, created or updated in place, all or nothing."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.spreadsheets import cells
from core.spreadsheets.cells import ColumnSpec, IssueList
from core.spreadsheets.files import read_checked
from core.spreadsheets.results import ImportResult, Progress, report_progress
from surveys.importing.owners import owner_write_plan, project_plan, stored_owners
from surveys.importing.responses import import_lock

logger = logging.getLogger(__name__)

ROSTER_COLUMNS = (
    ColumnSpec("project_code", "楼盘编码", cells.text_parser(32), required=True),
    ColumnSpec("project_name", "楼盘名称", cells.text_parser(100)),
    ColumnSpec("unit", "房号", cells.text_parser(32), required=True, few_distinct=False),
    ColumnSpec("owner_name", "业主姓名", cells.text_parser(50), required=True, few_distinct=False),
    ColumnSpec("phone", "联系电话", cells.text_parser(20), few_distinct=False),
    ColumnSpec("contract_date", "签约日期", cells.parse_date),
    ColumnSpec("move_in_date", "入住日期", cells.parse_date),
)


def owners_import(*, data: bytes, file_name: str, user=None, progress: Progress = None) -> ImportResult:
    """Import an owner roster: one row per owner (project, unit, name). New project codes create projects;
    a known owner's phone, contract and move-in dates are updated in place (a blank cell keeps what is
    stored). Counts are of owners."""
    report_progress(progress, 1)
    sheet = read_checked(data=data, file_name=file_name)
    if isinstance(sheet, ImportResult):
        return sheet
    report_progress(progress, 30)
    issues = IssueList()
    parsed = cells.parse_columns(sheet, list(ROSTER_COLUMNS), issues)
    n = sheet.row_count
    if n == 0:
        issues.add(row=0, column="", value=file_name, reason="文件中没有数据行（第 2 行起应为每位业主一行）")
        return ImportResult(errors=issues.sorted(), total_rows=0)
    rows = sheet.row_numbers
    empty = np.full(n, "", dtype=object)
    nothing = np.full(n, None, dtype=object)
    values = {key: column.values for key, column in parsed.items()}
    code = values.get("project_code", empty)
    unit = values.get("unit", empty)
    name = values.get("owner_name", empty)
    project_name = values.get("project_name", empty)
    if all(key in parsed for key in ("project_code", "unit", "owner_name")):
        ok = ~(parsed["project_code"].bad | parsed["unit"].bad | parsed["owner_name"].bad)
        ok &= (code != "") & (unit != "") & (name != "")
        positions = np.flatnonzero(ok)
        keys = pd.Series(
            [f"{c}\x1f{u}\x1f{m}" for c, u, m in zip(code[positions], unit[positions], name[positions], strict=True)]
        )
        repeats, firsts = cells.first_occurrence_rows(keys, rows[positions])
        for repeat, first in zip(repeats, firsts, strict=True):
            position = positions[repeat]
            issues.add(
                row=int(rows[position]),
                column=parsed["owner_name"].header,
                value=name[position],
                reason=f"同一业主（楼盘 {code[position]}、房号 {unit[position]}、{name[position]}）在文件中出现两次：与第 {first} 行相同",
                column_index=parsed["owner_name"].index,
            )
    report_progress(progress, 45)
    user_id = getattr(user, "pk", None)
    now = timezone.now()
    reason = f"导入名册：{file_name}"[:100]
    try:
        with transaction.atomic():
            import_lock()
            code_ok = ~parsed["project_code"].bad if "project_code" in parsed else np.zeros(n, dtype=bool)
            projects = project_plan(
                codes_and_names=[(c, pn) for c, pn, ok in zip(code, project_name, code_ok, strict=True) if ok and c]
            )
            for position in np.flatnonzero(code_ok):
                c = code[position]
                if c and c in projects.new_names and not project_name[position]:
                    issues.add(
                        row=int(rows[position]),
                        column=parsed["project_name"].header if "project_name" in parsed else "楼盘名称",
                        value="",
                        reason=f"楼盘编码“{c}”是新楼盘：请填写楼盘名称",
                        column_index=parsed["project_name"].index if "project_name" in parsed else -1,
                    )
            if issues:
                return ImportResult(errors=issues.sorted(), total_rows=n)
            report_progress(progress, 55)
            stored = stored_owners(project_ids=list(projects.ids.values()))
            new_projects = sorted(projects.new_names.items())
            projects.create(at=now)
            phone = values.get("phone", empty)
            contract = values.get("contract_date", nothing)
            move_in = values.get("move_in_date", nothing)
            file_owners = {
                (code[i], unit[i], name[i]): {
                    "phone": phone[i],
                    "contract_date": contract[i],
                    "move_in_date": move_in[i],
                }
                for i in range(n)
            }
            plan = owner_write_plan(owners=file_owners, project_ids=projects.ids, stored=stored, at=now)
            plan.write(user_id=user_id, at=now, reason=reason, progress=None)
    except IntegrityError:
        logger.warning("roster import of %s hit a concurrent change", file_name, exc_info=True)
        return ImportResult.refusal(
            ["导入期间有人同时修改了这些业主，本次未写入任何数据：请稍后重新导入"], file_name=file_name
        )
    report_progress(progress, 100)
    return ImportResult(
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        total_rows=n,
        created_projects=new_projects,
        created_owners=list(plan.insert_keys),
    )
