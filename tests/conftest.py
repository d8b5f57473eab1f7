"""Personas, the browser, and the rule that CI runs every test: a missing service fails the run, never skips it."""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402

from tests.support import CHROMIUM_ARGS, IN_CI, chromium_path, port_open, redis_available  # noqa: E402

PASSWORD = "Demo-pass-2026!"


def _restore_seeds_after_transactional_tests(items) -> None:
    """Every transactional test gets ``serialized_rollback``.

    A transactional test ends with a flush that empties every table, the rows seeded by data migrations included
    (departments, ports, groups, callback rules). With serialized rollback each such test starts from the migrated
    database again, whatever ran before it; mixing the two kinds instead leaves later tests without the seeds, or
    fails them on duplicate content types.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        transactional = (marker is not None and marker.kwargs.get("transaction")) or "live_server" in fixtures
        if not transactional or (marker is not None and marker.kwargs.get("serialized_rollback")):
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        kwargs.update(transaction=True, serialized_rollback=True)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Outside CI a missing service skips its tests with a visible reason; in CI it fails the run.

    Runs last, after ``-m`` has deselected what this run leaves out, so only the selected tests' needs count.
    """
    _restore_seeds_after_transactional_tests(items)
    needs_browser = any(item.get_closest_marker("browser") for item in items)
    needs_services = any(item.get_closest_marker("integration") for item in items)
    missing = []
    if needs_browser and not chromium_path():
        missing.append(("browser", "Chromium is not installed (apt-get install chromium fonts-noto-cjk)"))
    if needs_services:
        from django.conf import settings

        database = settings.DATABASES["default"]
        host, port = database.get("HOST") or "127.0.0.1", int(database.get("PORT") or 5432)
        if database["ENGINE"] != "django.db.backends.postgresql":
            missing.append(("integration", "integration tests need DATABASE_URL pointing at PostgreSQL (make test sets it)"))
        elif not port_open(host, port):
            missing.append(("integration", f"PostgreSQL is not reachable on {host}:{port}"))
        if not redis_available():
            missing.append(("integration", "Redis is not reachable on 127.0.0.1:6379"))
    if not missing:
        return
    if IN_CI:
        reasons = "; ".join(reason for _, reason in missing)
        pytest.exit(f"CI=true and a required service is missing: {reasons}", returncode=3)
    for marker, reason in missing:
        skip = pytest.mark.skip(reason=reason)
        skipped = [item for item in items if item.get_closest_marker(marker)]
        for item in skipped:
            item.add_marker(skip)
        if skipped:
            NOT_RUN.append(f"{marker} tests not run ({len(skipped)}): {reason}")


# What this run skipped for want of a service (outside CI only), said again at the very end of the run, and written
# to $CSM_SKIPPED_FILE (if set) so that `make test` can say it after its last pass.
NOT_RUN: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if not NOT_RUN:
        return
    terminalreporter.section("NOT RUN: a service is missing", sep="!", red=True, bold=True)
    for line in NOT_RUN:
        terminalreporter.line(line, red=True, bold=True)
    terminalreporter.line("The run passes without them outside CI; with CI=true a missing service fails it.")
    report = os.environ.get("CSM_SKIPPED_FILE")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.writelines(f"{line}\n" for line in NOT_RUN)


@pytest.fixture(scope="session", autouse=True)
def _static_files_found_when_asked():
    """Every test client builds its own middleware, and whitenoise (serving from the finders, without collectstatic)
    would list and stat every static file each time: most of an API test's time. Looking a file up when it is asked
    for serves the same files; the production stack test keeps the collected manifest."""
    from django.conf import settings

    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: rate-limit counters and cached pages do not leak between tests, a
    rolled-back test's database returns to an earlier cache version (core.versions), and a test that patches code
    (a selector) changes what no version names."""
    from django.core.cache import cache

    cache.clear()


def make_user(username: str, *, groups=(), department: str | None = None, head: bool = False, **extra) -> User:
    from departments.models import Department, Membership

    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    if department:
        Membership.objects.create(user=user, department=Department.objects.get(code=department), is_head=head)
    return user


@pytest.fixture
def staff(db):
    """王敏, a brand-service specialist (品牌客服部)."""
    return make_user("staff", groups=["brand_service"], department="brand_service", first_name="王敏")


@pytest.fixture
def property_head(db):
    """The head of the property company (物业公司): owns the property port."""
    return make_user("property_head", groups=["department_head"], department="property", head=True)


@pytest.fixture
def engineering_head(db):
    """The head of engineering management (工程管理部): owns engineering, monitors design."""
    return make_user("engineering_head", groups=["department_head"], department="engineering", head=True)


@pytest.fixture
def marketing_head(db):
    """The head of marketing (市场营销部): owns sales."""
    return make_user("marketing_head", groups=["department_head"], department="marketing", head=True)


@pytest.fixture
def manager(db):
    """A member of company management."""
    return make_user("manager", groups=["management"])


@pytest.fixture
def second_manager(db):
    return make_user("manager2", groups=["management"])


@pytest.fixture
def committee_member(db):
    return make_user("committee", groups=["committee"])


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download cannot work here)."""
    path = chromium_path()
    if not path:
        pytest.skip("Chromium is not installed")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Django's connections live in a context-local store, and Playwright's sync API switches context: without
    # this, tests after the browser starts get fresh connection objects that lack the test database's
    # serialized contents, so `serialized_rollback=True` silently restores nothing (seeded groups vanish).
    outer = {alias: connections[alias] for alias in connections}
    with sync_playwright() as playwright:
        for alias, connection in outer.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.base_url = live_server.url
    yield page
    context.close()


def login(page, user, password: str = PASSWORD) -> None:
    """Log in through the real login form."""
    page.goto(f"{page.base_url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


SCREENSHOT_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


def screenshot(page, name: str) -> str:
    """Save a full-page PNG under test-artifacts/ for a person to look at."""
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    path = os.path.join(SCREENSHOT_DIR, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path
