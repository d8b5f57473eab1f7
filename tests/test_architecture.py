"""The layers of the architecture, checked on every import (function-level ones included).

An app may import only from itself and from the apps below it; since the order is total, this also rules out
any circle between apps. The order (lowest first) is documented in the README and in ``config/settings.py``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = (
    "core",
    "departments",
    "owners",
    "surveys",
    "online",
    "satisfaction",
    "improvement_plans",
    "feedback",
    "followup",
    "dashboards",
    "reports",
    "demo",
    "config",
)
RANK = {app: rank for rank, app in enumerate(LAYERS)}


def imported_apps(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of one of our apps in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in RANK]
    return found


def layer_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for app in LAYERS:
        for path in sorted((root / app).rglob("*.py")):
            for line, target in imported_apps(path):
                if RANK[target] > RANK[app]:
                    problems.append(f"{path.relative_to(root)}:{line}: {app} imports {target}, a higher layer")
    return problems


def test_every_app_imports_only_from_itself_and_lower_layers():
    assert layer_violations() == []


def test_the_check_finds_an_upward_import_even_inside_a_function(tmp_path):
    (tmp_path / "owners").mkdir()
    (tmp_path / "owners" / "views.py").write_text("def page():\n    from surveys.models import Survey\n    return Survey\n")
    for app in LAYERS:
        (tmp_path / app).mkdir(exist_ok=True)
    assert layer_violations(tmp_path) == ["owners/views.py:2: owners imports surveys, a higher layer"]


def test_every_project_app_is_in_the_layer_order():
    from django.conf import settings

    ours = [app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()]
    assert ours == [app for app in LAYERS if app != "config"]


@pytest.mark.parametrize("app", LAYERS)
def test_each_layer_is_a_package(app):
    assert (ROOT / app / "__init__.py").exists()
