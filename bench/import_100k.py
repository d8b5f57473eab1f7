"""Benchmark: import 100,000 questionnaires (xlsx, 25 columns) into PostgreSQL, validated; and the ORM baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_100k.py

DATABASE_URL names the server (any database on it); the benchmark drops and recreates a throwaway database
``csm_bench`` there, migrates it, and leaves the server otherwise alone. The generated workbook is kept in
bench/out/ (gitignored) and reused. Prints the end-to-end import time (read + check + write + commit) beside the
floor of the same run — the same file read by calamine and ``COPY``'d as text into a bare table of 25 columns, no
check, no history, no index — with the ratio (goal ≤ 5 s, ≤ 2.5 × the floor), the time of re-importing the
unchanged file, and a row-by-row ORM save of a sample extrapolated to 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BENCH_DB = "csm_bench"

META = ["问卷编号", "楼盘编码", "楼盘名称", "房号", "业主姓名", "联系电话", "入住日期", "调查日期", "调查方式"]
QUESTIONS = [
    "总体满意度", "再次购买意愿", "推荐意愿", "规划设计", "工程质量", "销售服务", "客户服务", "物业管理",
    "户型设计", "园林景观", "房屋质量（渗漏/裂缝）", "装修质量", "销售承诺兑现", "投诉处理", "安全管理", "保洁服务",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国文"
CHANNELS = ["电话", "网络", "上门", "纸质"]
EXCEL_EPOCH = date(1899, 12, 30)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def generate(path: Path, rows: int, seed: int = 2026, first_project: int = 0) -> None:
    """A survey firm's file: shared strings, dates as Excel date cells and three text spellings, blanks, N/A."""
    rng = random.Random(seed)
    strings: dict[str, int] = {}

    letters = [column_letter(i) for i in range(len(META) + len(QUESTIONS))]

    def shared(text: str) -> int:
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
        return index

    def date_cell(ref: str, day: date, style: int) -> str:
        kind = style % 4
        if kind == 0:
            return f'<c r="{ref}" s="1"><v>{(day - EXCEL_EPOCH).days}</v></c>'
        text = (
            day.isoformat()
            if kind == 1
            else f"{day.year}/{day.month}/{day.day}"
            if kind == 2
            else f"{day.year}年{day.month}月{day.day}日"
        )
        return f'<c r="{ref}" t="s"><v>{shared(text)}</v></c>'

    parts = []
    header = "".join(f'<c r="{letters[i]}1" t="s"><v>{shared(h)}</v></c>' for i, h in enumerate(META + QUESTIONS))
    parts.append(f'<row r="1">{header}</row>')
    projects = 20
    for i in range(rows):
        r = i + 2
        project = first_project + i % projects
        k = i // projects
        unit = f"{k // 400 + 1}-{(k // 100) % 4 + 1}-{k % 100 + 101}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        surveyed = date(2026, 3, 1) + timedelta(days=rng.randrange(90))
        cells = [
            f'<c r="A{r}" t="s"><v>{shared(f"BQ{first_project:02d}-{i + 1:06d}")}</v></c>',
            f'<c r="B{r}" t="s"><v>{shared(f"BP-{project:03d}")}</v></c>',
            f'<c r="C{r}" t="s"><v>{shared(f"基准楼盘{project:03d}")}</v></c>',
            f'<c r="D{r}" t="s"><v>{shared(unit)}</v></c>',
            f'<c r="E{r}" t="s"><v>{shared(name)}</v></c>',
            f'<c r="F{r}" t="s"><v>{shared(f"1{rng.randrange(30, 99)}{rng.randrange(10**8):08d}")}</v></c>',
        ]
        if rng.random() < 0.85:
            cells.append(date_cell(f"G{r}", surveyed - timedelta(days=rng.randrange(-60, 2500)), rng.randrange(4)))
        cells.append(date_cell(f"H{r}", surveyed, rng.randrange(4)))
        cells.append(f'<c r="I{r}" t="s"><v>{shared(rng.choice(CHANNELS))}</v></c>')
        for q in range(len(QUESTIONS)):
            ref = f"{letters[len(META) + q]}{r}"
            roll = rng.random()
            if roll < 0.03:
                continue  # blank = not answered
            if roll < 0.04:
                cells.append(f'<c r="{ref}" t="s"><v>{shared("N/A" if roll < 0.035 else "不适用")}</v></c>')
                continue
            cells.append(f'<c r="{ref}"><v>{rng.choices((1, 2, 3, 4, 5), weights=(2, 6, 22, 42, 28))[0]}</v></c>')
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    last = f"{letters[-1]}{rows + 1}"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{last}"/><sheetData>{"".join(parts)}</sheetData></worksheet>'
    )
    from xml.sax.saxutils import escape

    sst = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    shared_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{sst}</sst>'
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="问卷数据" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            "</styleSheet>"
        ),
        "xl/sharedStrings.xml": shared_xml,
        "xl/worksheets/sheet1.xml": sheet,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8"))


def bench_database_url(server_url: str) -> str:
    parts = urlparse(server_url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (postgres://user@host:5432/db)")
    import psycopg

    admin = urlunparse(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return urlunparse(parts._replace(path=f"/{BENCH_DB}"))


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_cpu_seconds(pid: int) -> float:
    """CPU time of the PostgreSQL backend serving us (same machine: /proc), 0 when not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def calamine_copy_floor(data: bytes) -> float:
    """The floor: read the workbook with calamine and COPY every cell as text into a bare table, committed."""
    import io

    from django.db import connection, transaction
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    width = len(rows[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(f"CREATE TABLE bench_floor ({', '.join(f'c{i} text' for i in range(width))})")
        with cursor.cursor.copy("COPY bench_floor FROM STDIN") as copy:
            for row in rows[1:]:
                copy.write_row([None if value == "" else str(value) for value in row])
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def orm_row_by_row(survey, sheet_rows: list[dict], questions) -> float:
    """The naive importer: per row, get-or-create the project and owner, save the response (history by signal)."""
    from django.db import transaction

    from owners.models import Owner, Project
    from owners.stages import stage_as_of
    from surveys.answers import answer_codes, encode_answers
    from surveys.models import Response

    codes = answer_codes(questions)
    started = time.perf_counter()
    with transaction.atomic():
        for row in sheet_rows:
            project, _ = Project.objects.get_or_create(code=row["project_code"], defaults={"name": row["project_name"]})
            owner, created = Owner.objects.get_or_create(
                project=project,
                unit=row["unit"],
                name=row["owner_name"],
                defaults={"phone": row["phone"], "move_in_date": row["move_in_date"]},
            )
            if not created and (owner.phone, owner.move_in_date) != (row["phone"], row["move_in_date"]):
                owner.phone, owner.move_in_date = row["phone"], row["move_in_date"]
                owner.save()
            response = Response.objects.filter(survey=survey, questionnaire_no=row["questionnaire_no"]).first()
            response = response or Response(survey=survey, questionnaire_no=row["questionnaire_no"])
            response.owner, response.project = owner, project
            response.surveyed_on = row["surveyed_on"]
            response.stage = stage_as_of(row["move_in_date"], row["surveyed_on"])
            response.channel = row["channel"]
            response.answers = encode_answers(codes, row["scores"])
            response.save()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "")
    if not server:
        sys.exit("set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    path = OUT / f"import_{args.rows}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
    baseline_path = OUT / f"baseline_{args.baseline_rows}.xlsx"
    if not baseline_path.exists():
        generate(baseline_path, args.baseline_rows, seed=7, first_project=50)

    os.environ["DATABASE_URL"] = bench_database_url(server)
    os.environ["CELERY_BROKER_URL"] = "memory://"  # queue the metrics recompute, do not run it inside the timing
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from core.spreadsheets.files import read_sheet
    from surveys.importer import responses_import
    from surveys.importing.responses import response_columns
    from surveys.models import Response
    from surveys.selectors import survey_answer_questions
    from surveys.services import survey_create

    survey = survey_create(code="bench", name="基准测试")
    data = path.read_bytes()
    marks: list[tuple[int, float]] = []
    backend = backend_pid()
    cpu_before = time.process_time(), backend_cpu_seconds(backend)
    started = time.perf_counter()
    result = responses_import(
        survey=survey, data=data, file_name=path.name, progress=lambda p: marks.append((p, time.perf_counter()))
    )
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before[0]
    server_cpu = backend_cpu_seconds(backend) - cpu_before[1]
    if not result.ok:
        for issue in result.errors[:10]:
            print(issue.as_line())
        sys.exit("the generated file did not import")
    assert Response.objects.filter(survey=survey).count() == args.rows
    phases = {p: t - started for p, t in marks}
    read_s = phases.get(30, 0.0)
    check_s = phases.get(45, read_s) - read_s
    floor = min(calamine_copy_floor(data) for _ in range(2))
    print(f"import {args.rows:,} rows × 25 columns: {elapsed:.2f} s  ({args.rows / elapsed:,.0f} rows/s; goal ≤ 5 s "
          f"and ≤ 2.5 × the floor: {'met' if elapsed <= 5 and elapsed <= 2.5 * floor else 'MISSED'})")
    print(f"  floor: calamine read + COPY of every cell into a bare table {floor:.2f} s → the import is "
          f"{elapsed / floor:.1f} × the floor")
    print(
        f"  read {read_s:.2f} s, check cells {check_s:.2f} s, database checks + writes + commit {elapsed - read_s - check_s:.2f} s"
    )
    print(
        f"  CPU used: importer {client_cpu:.2f} s + PostgreSQL backend {server_cpu:.2f} s = {client_cpu + server_cpu:.2f} s "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: the wall time includes waiting for a CPU)"
    )

    started = time.perf_counter()
    again = responses_import(survey=survey, data=data, file_name=path.name)
    reimport_s = time.perf_counter() - started
    print(
        f"re-import unchanged: {reimport_s:.2f} s (created {again.created}, updated {again.updated}, unchanged {again.unchanged})"
    )

    # The baseline: the same kind of rows saved one by one through the ORM (history via simple_history's signal).
    baseline_survey = survey_create(code="bench-orm", name="逐行基准")
    sheet = read_sheet(data=baseline_path.read_bytes(), file_name=baseline_path.name)
    specs = response_columns(survey=baseline_survey)
    from core.spreadsheets.cells import IssueList, parse_columns

    parsed = parse_columns(sheet, specs, IssueList())
    questions = survey_answer_questions(survey=baseline_survey)
    rows = []
    for i in range(sheet.row_count):
        value = {key: column.values[i] for key, column in parsed.items()}
        rows.append({**value, "scores": {q.code: value.get(q.code) for q in questions}})
    orm_s = orm_row_by_row(baseline_survey, rows, questions)
    per_row = orm_s / len(rows)
    extrapolated = per_row * args.rows
    print(
        f"row-by-row ORM: {len(rows):,} rows in {orm_s:.2f} s ({per_row * 1000:.2f} ms/row) "
        f"→ {extrapolated:,.0f} s for {args.rows:,} rows (writes only, no reading or checking)"
    )
    print(f"speed-up: {extrapolated / elapsed:.0f}×")


if __name__ == "__main__":
    main()
