"""One home for each rule: the names below are defined in one module each, and every other place imports them.

The check reads the source with ``ast`` (no import needed, so a copy in a module nobody imports is found too):
module-level definitions and functions defined inside functions count; methods and class attributes do not (a
dataclass's ``too_few`` property asks the engine). Migrations are frozen history and tests keep independent
figures on purpose, so neither is read.
"""

import ast
from collections import defaultdict
from pathlib import Path

from tests.test_architecture import LAYERS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (*LAYERS, "bench", "scripts")

# name → the one module that defines it
HOMES = {
    # the answer string
    "NOT_ANSWERED": "surveys/answers.py",
    "ANSWERS_PATTERN": "surveys/answers.py",
    "SCORE_KINDS": "surveys/answers.py",
    "answer_questions": "surveys/answers.py",
    "answer_codes": "surveys/answers.py",
    "encode_answers": "surveys/answers.py",
    "decode_answers": "surveys/answers.py",
    "encode_answer_matrix": "surveys/answers.py",
    "decode_answer_matrix": "surveys/answers.py",
    # the year a survey counts for
    "survey_year": "surveys/selectors.py",
    # ports and stages: codes, order, labels, the stage rule
    "PortCode": "departments/ports.py",
    "PORTS": "departments/ports.py",
    "ports_in_order": "departments/ports.py",
    "port_rank": "departments/ports.py",
    "port_label": "departments/ports.py",
    "Stage": "owners/stages.py",
    "STAGES": "owners/stages.py",
    "stage_label": "owners/stages.py",
    "stage_as_of": "owners/stages.py",
    "stages_as_of": "owners/stages.py",
    # import jobs and the column parser
    "import_kind_register": "surveys/importing/jobs.py",
    "import_job_start": "surveys/importing/jobs.py",
    "import_job_run": "surveys/importing/jobs.py",
    "MAX_STORED_ERRORS": "surveys/importing/jobs.py",
    "ColumnSpec": "core/spreadsheets/cells.py",
    "map_headers": "core/spreadsheets/cells.py",
    "parse_column": "core/spreadsheets/cells.py",
    "parse_columns": "core/spreadsheets/cells.py",
    "choice_parser": "core/spreadsheets/cells.py",
    "labelled_choice_parser": "core/spreadsheets/cells.py",
    "read_checked": "core/spreadsheets/files.py",
    "Progress": "core/spreadsheets/results.py",
    "report_progress": "core/spreadsheets/results.py",
    # who may enter data; the fill state; the engine's reading rules
    "user_may_enter_data": "departments/selectors.py",
    "metric_run_state": "satisfaction/selectors.py",
    "quadrant_medians": "satisfaction/metrics/engine.py",
    "quadrant_of": "satisfaction/metrics/engine.py",
    "TOO_FEW_N": "satisfaction/metrics/engine.py",
    "too_few": "satisfaction/metrics/engine.py",
    "wilson_interval": "satisfaction/metrics/engine.py",
    "two_proportion_change": "satisfaction/metrics/engine.py",
    "target_status": "satisfaction/metrics/engine.py",
}
# Names the copies went by: none may come back anywhere.
GONE = (
    "TOO_FEW",
    "_answer_matrix",
    "_answer_strings",
    "_encode",
    "dashboard_run_state",
    "user_keeps_feedback",
    "feedback_import_recorded",
    "PORT_LABELS",
    "STAGE_LABELS",
    "RUNNABLE_KINDS",
    "_map_header",
    "load_sheet",
)


def _definitions(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of module-level definitions and of functions nested in functions (not class members)."""
    found = []

    def visit(body, *, in_function: bool) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.append((node.name, node.lineno))
                if not isinstance(node, ast.ClassDef):
                    visit(node.body, in_function=True)
            elif not in_function and isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found.append((name.id, node.lineno))
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child], in_function=in_function)

    visit(tree.body, in_function=False)
    return found


def definitions_by_name(root: Path = ROOT) -> dict[str, list[str]]:
    """name → ['path:line', …] over every source module of the project (migrations and tests left out)."""
    where = defaultdict(list)
    for top in SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            for name, line in _definitions(ast.parse(path.read_text(), filename=str(path))):
                where[name].append(f"{relative.as_posix()}:{line}")
    return where


def second_homes(root: Path = ROOT) -> list[str]:
    """Every rule defined anywhere but its home, or not at its home, and every old copy's name that is back."""
    where = definitions_by_name(root)
    problems = []
    for name, home in HOMES.items():
        places = where.get(name, [])
        if [place.rsplit(":", 1)[0] for place in places] != [home]:
            problems.append(f"{name} must be defined once, in {home}; found: {', '.join(places) or 'nowhere'}")
    problems += [f"{name} is an old copy's name; found: {', '.join(where[name])}" for name in GONE if name in where]
    return problems


def ordered_literals(root: Path = ROOT) -> list[str]:
    """List or tuple literals spelling out every port code or every stage code: a hand-written copy of the order."""
    from departments.ports import PORTS
    from owners.stages import STAGES

    problems = []
    for top in SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.List | ast.Tuple):
                    strings = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                    if set(PORTS) <= strings or set(STAGES) <= strings:
                        problems.append(f"{relative.as_posix()}:{node.lineno}: a hand-written list of ports or stages")
    return problems


def test_each_rule_is_defined_once_in_its_home():
    assert second_homes() == []


def test_no_code_spells_out_the_port_or_stage_order():
    assert ordered_literals() == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for top in SOURCES:
        (tmp_path / top).mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


def test_the_check_finds_a_second_definition_even_inside_a_function(tmp_path):
    root = _tree(
        tmp_path,
        {
            "surveys/answers.py": "NOT_ANSWERED = '-'\ndef encode_answers(codes, scores):\n    return ''\n",
            "surveys/selectors.py": "def survey_year(survey):\n    return 2026\n",
            "dashboards/selectors.py": "def page():\n    def survey_year(survey):\n        return 2025\n    return survey_year\n",
            "demo/scale.py": "def _answer_strings(matrix):\n    return matrix\n",
        },
    )
    problems = second_homes(root)
    assert (
        "survey_year must be defined once, in surveys/selectors.py; "
        "found: surveys/selectors.py:1, dashboards/selectors.py:2"
    ) in problems
    assert "_answer_strings is an old copy's name; found: demo/scale.py:1" in problems
    assert not any(problem.startswith(("encode_answers ", "NOT_ANSWERED ")) for problem in problems)


def test_a_method_of_the_same_name_is_not_a_copy(tmp_path):
    root = _tree(
        tmp_path,
        {
            "satisfaction/metrics/engine.py": "TOO_FEW_N = 30\ndef too_few(n):\n    return n < TOO_FEW_N\n",
            "dashboards/panels.py": "class Figure:\n    n = 3\n    def too_few(self):\n        return self.n < 30\n",
        },
    )
    assert not any(problem.startswith(("too_few ", "TOO_FEW_N ")) for problem in second_homes(root))


def test_the_check_finds_a_hand_written_order(tmp_path):
    root = _tree(tmp_path, {"feedback/views.py": "ORDER = ['design', 'engineering', 'sales', 'service', 'property']\n"})
    assert ordered_literals(root) == ["feedback/views.py:1: a hand-written list of ports or stages"]
