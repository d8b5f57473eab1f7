"""Demo data for `make run` and for people trying the app: projects, owners, two annual surveys, users.

Deterministic (one seeded generator), written with bulk inserts so it takes seconds. The scores come from a
small latent model so that the dashboards tell a plausible story: detail items drive their port item, the
ports drive overall satisfaction, property is weak at 天河云著, run-in owners are less pleased with
engineering, and property and customer service improve from 2025 to 2026. The open comments of the 2026 annual
and the callback waves come from ``demo.comments`` (their own generator: drawn after the scores, they change none).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from demo.comments import QUESTIONNAIRES as OPEN_QUESTIONNAIRES
from demo.comments import SCORE_ITEMS, demo_comments
from departments.models import Department, Membership
from departments.ports import PORTS
from owners.models import Owner, Project
from owners.stages import stage_as_of
from satisfaction.services import metrics_compute
from surveys.answers import encode_answer_matrix
from surveys.models import Channel, Question, Questionnaire, Response, ResponseComment, Survey
from surveys.questionnaires import STANDARD
from surveys.services import ItemDef, questionnaire_create, survey_create

DEMO_PASSWORD = "Demo-2026!csm"
SEED = 20260401


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    role: str  # a Django group, or "" for the superuser
    department: str = ""
    head: bool = False
    superuser: bool = False
    description: str = ""


DEMO_USERS = (
    DemoUser("staff", "王敏", "brand_service", "brand_service", description="品牌客服专员（品牌客服部）"),
    DemoUser("mgmt", "陈总", "management", description="管理层"),
    DemoUser("committee", "李委员", "committee", description="满意度管理小组成员"),
    DemoUser("head_property", "赵经理", "department_head", "property", True, description="部门负责人 · 物业公司"),
    DemoUser(
        "head_engineering", "孙经理", "department_head", "engineering", True, description="部门负责人 · 工程管理部"
    ),
    DemoUser("head_marketing", "周经理", "department_head", "marketing", True, description="部门负责人 · 市场营销部"),
    DemoUser("head_design", "吴经理", "department_head", "design", True, description="部门负责人 · 规划设计部"),
    DemoUser("head_service", "郑经理", "brand_service", "brand_service", True, description="部门负责人 · 品牌客服部"),
    DemoUser("admin", "系统管理员", "", superuser=True, description="系统管理员（超级用户）"),
)
# head_service is also in department_head: they own the service port's improvement plan.
EXTRA_GROUPS = {"head_service": ("department_head",)}


@dataclass(frozen=True)
class DemoProject:
    code: str
    name: str
    city: str
    owners: int
    delivered_on: date  # first keys handed over; move-ins spread over the months after


PROJECTS = (
    DemoProject("SZ-JY01", "金域华府一期", "深圳", 700, date(2021, 6, 18)),
    DemoProject("SZ-JY02", "金域华府二期", "深圳", 420, date(2025, 8, 28)),
    DemoProject("SZ-BA01", "宝安滨海湾花园", "深圳", 520, date(2024, 10, 12)),
    DemoProject("GZ-TH01", "天河云著", "广州", 600, date(2023, 9, 20)),
    DemoProject("GZ-PY01", "番禺星河湾畔", "广州", 480, date(2022, 3, 26)),
    DemoProject("GZ-HP01", "黄埔知识城悦府", "广州", 300, date(2026, 9, 30)),
)


@dataclass(frozen=True)
class DemoSurvey:
    code: str
    name: str
    starts_on: date
    ends_on: date
    response_rate: float
    series: str = "company"
    questionnaire: str = "standard"
    number_prefix: str = ""  # questionnaire numbers: prefix + running number (default: the year)
    shift: float = 0.0  # in standard deviations: a third-party firm's owners answer a little more critically
    stages: tuple[str, ...] = ()  # the owner stages the wave targets (empty = all)
    weighting: str = "none"  # "population": its rates are also weighted to the owner roster (加权)


SURVEYS = (
    DemoSurvey("2025-annual", "2025年度客户满意度调查", date(2025, 4, 1), date(2025, 6, 30), 0.72),
    # The 2026 wave adds open comment questions (demo.comments); its scores are drawn as before.
    DemoSurvey("2026-annual", "2026年度客户满意度调查", date(2026, 4, 1), date(2026, 6, 30), 0.70,
               questionnaire="standard-open"),
    # Generated after the annual waves, so that adding them left the annual waves' numbers as they were.
    # A small third-party sample (22 % answered): weighted to the owner roster, so the demo shows 加权 figures.
    DemoSurvey("2026-group", "集团2026年度第三方满意度调查（本公司样本）", date(2026, 3, 1), date(2026, 3, 31), 0.22,
               series="group", number_prefix="G26-", shift=-0.12, weighting="population"),
    DemoSurvey("callback-2025", "2025年回访触点调查", date(2025, 1, 1), date(2025, 12, 31), 0.35, series="callback",
               questionnaire="headline-open", number_prefix="CB25-", stages=("run_in",)),
)

# How much each port weighs in overall satisfaction, and each detail item in its port (the key drivers).
PORT_WEIGHTS = {"design": 0.14, "engineering": 0.28, "sales": 0.10, "service": 0.18, "property": 0.30}
DETAIL_WEIGHTS = {
    "design_layout": 0.5, "design_landscape": 0.3, "design_facilities": 0.2,
    "engineering_structure": 0.55, "engineering_finish": 0.2, "engineering_repair": 0.4,
    "sales_promise": 0.55, "sales_contract": 0.15, "sales_handover": 0.35,
    "service_complaint": 0.5, "service_response": 0.35, "service_care": 0.15,
    "property_security": 0.3, "property_cleaning": 0.2, "property_greening": 0.1, "property_maintenance": 0.45,
}  # fmt: skip
# Level of each item in standard deviations (positive = more satisfied) before the slice effects.
ITEM_LEVEL = {"repurchase": -0.35, "recommend": -0.25, "engineering_repair": -0.25, "service_care": 0.2,
              "property_maintenance": -0.2, "design_facilities": -0.15, "sales_promise": -0.1}  # fmt: skip
# Cut points of a standard normal score: P(1)≈3 %, P(2)≈5 %, P(3)≈12 %, P(4)≈40 %, P(5)≈40 % at level 0.
CUTS = np.array([-1.88, -1.405, -0.84, 0.253])

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉建国志强晓东海燕俊杰文博子涵雨欣浩然梓萱"


def _effects(project: str, stage: str, year: int) -> dict[str, float]:
    """Slice effects in standard deviations, by item code (a port code applies to its detail items)."""
    effects: dict[str, float] = {}

    def add(code: str, value: float) -> None:
        effects[code] = effects.get(code, 0.0) + value

    if project == "GZ-TH01":  # a weak property company on site
        add("property", -0.65)
        add("property_maintenance", -0.3)
    if project == "SZ-BA01":  # a rushed delivery: leaks and cracks
        add("engineering", -0.3)
        add("engineering_structure", -0.35)
    if project == "SZ-JY01":
        add("design", 0.25)
        add("property", 0.15)
    if project == "GZ-PY01":
        add("sales", -0.3)
        add("sales_promise", -0.3)
        add("design_landscape", 0.3)
    if project == "GZ-HP01":
        add("sales", 0.2)
    if stage == "run_in":  # the first year: repairs and defects
        add("engineering", -0.35)
        add("engineering_repair", -0.3)
        add("service_response", -0.15)
    elif stage == "prospective":  # before the keys: the sales promise still fresh
        add("sales", 0.25)
        add("service", 0.1)
    elif stage == "veteran":
        add("property_maintenance", -0.2)
        add("design", 0.1)
    if year >= 2026:  # the 2025 improvement plans for property and customer service
        add("property", 0.25)
        add("property_cleaning", 0.15)
        add("service", 0.2)
        add("service_response", 0.2)
        if project == "SZ-BA01":
            add("engineering_structure", 0.2)
    return effects


def _scores(rng: np.random.Generator, keys: list[tuple[str, str]], year: int, shift: float = 0.0) -> np.ndarray:
    """Integer scores (0 = not answered) of the standard questionnaire for responses in slices ``keys``."""
    n = len(keys)
    codes = [q.code for q in STANDARD]
    col = {code: j for j, code in enumerate(codes)}
    ports_of = {q.code: q.port for q in STANDARD}
    effect_rows = {key: _effects(key[0], key[1], year) for key in set(keys)}

    def effect(code: str) -> np.ndarray:
        port = ports_of.get(code, "")
        return np.array([effect_rows[key].get(code, 0.0) + (effect_rows[key].get(port, 0.0) if port and port != code else 0.0)
                         for key in keys])  # fmt: skip

    def standardise(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / x.std()

    general = rng.standard_normal(n)
    latent = np.zeros((n, len(codes)))
    port_structural = {}
    for port in PORTS:
        shared = rng.standard_normal(n)
        details = [q.code for q in STANDARD if q.kind == "detail" and q.port == port]
        weighted = np.zeros(n)
        for code in details:
            structural = 0.4 * general + 0.35 * shared + 0.8471 * rng.standard_normal(n)
            latent[:, col[code]] = structural + effect(code)
            weighted += DETAIL_WEIGHTS[code] * structural
        port_structural[port] = 0.85 * standardise(weighted) + 0.527 * rng.standard_normal(n)
        detail_effect = sum(DETAIL_WEIGHTS[c] * effect(c) for c in details) / sum(DETAIL_WEIGHTS[c] for c in details)
        latent[:, col[port]] = port_structural[port] + 0.5 * detail_effect + 0.5 * effect(port)
    total = sum(PORT_WEIGHTS.values())
    overall = 0.8 * standardise(sum(PORT_WEIGHTS[p] * port_structural[p] for p in PORTS)) + 0.6 * rng.standard_normal(n)
    overall_effect = sum(PORT_WEIGHTS[p] * latent_effect for p, latent_effect in
                         ((p, latent[:, col[p]] - port_structural[p]) for p in PORTS)) / total  # fmt: skip
    latent[:, col["overall"]] = overall + overall_effect
    latent[:, col["repurchase"]] = 0.8 * overall + 0.6 * rng.standard_normal(n) + 0.8 * overall_effect
    latent[:, col["recommend"]] = 0.85 * overall + 0.53 * rng.standard_normal(n) + 0.85 * overall_effect
    for code, level in ITEM_LEVEL.items():
        latent[:, col[code]] += level
    latent += shift
    scores = (np.searchsorted(CUTS, latent) + 1).astype(np.int8)

    # Not answered: some detail and port items at random; engineering and property mostly for owners who
    # have not received their keys yet.
    kinds = {q.code: q.kind for q in STANDARD}
    skip = np.zeros_like(scores, dtype=bool)
    for code, j in col.items():
        if kinds[code] == "detail":
            skip[:, j] = rng.random(n) < 0.05
        elif kinds[code] == "port":
            skip[:, j] = rng.random(n) < 0.015
    prospective = np.array([key[1] == "prospective" for key in keys])
    for code, j in col.items():
        if ports_of[code] in ("engineering", "property"):
            skip[:, j] |= prospective & (rng.random(n) < 0.7)
    scores[skip] = 0
    return scores


def demo_data_present() -> bool:
    return Survey.objects.exists()


def demo_users_ensure() -> list[User]:
    """Create or reset the demo users, their groups and memberships, all with ``DEMO_PASSWORD``."""
    # One hash for all: hashing nine passwords one by one costs seconds, and the password is public anyway.
    hashed = make_password(DEMO_PASSWORD)
    groups = {g.name: g for g in Group.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    users = []
    for spec in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=spec.username)
        user.first_name = spec.first_name
        user.password = hashed
        user.is_superuser = spec.superuser
        user.is_staff = spec.superuser
        user.is_active = True
        user.save(update_fields=["first_name", "password", "is_superuser", "is_staff", "is_active"])
        names = [spec.role] if spec.role else []
        names += EXTRA_GROUPS.get(spec.username, ())
        user.groups.set([groups[name] for name in names])
        if spec.department:
            Membership.objects.update_or_create(
                user=user, department=departments[spec.department], defaults={"is_head": spec.head}
            )
        users.append(user)
    return users


def _unit(rng: random.Random, used: set[str]) -> str:
    while True:
        unit = f"{rng.randint(1, 12)}-{rng.randint(1, 2)}-{rng.randint(2, 32)}{rng.randint(1, 4):02d}"
        if unit not in used:
            used.add(unit)
            return unit


@dataclass(frozen=True)
class DemoOwner:
    project: str
    unit: str
    name: str
    phone: str
    contract_date: date
    move_in_date: date | None


@dataclass(frozen=True)
class DemoResponse:
    owner: int  # index into the owners
    questionnaire_no: str
    surveyed_on: date
    stage: str
    channel: str
    answers: str


@dataclass
class DemoDataset:
    owners: list[DemoOwner]
    responses: dict[str, list[DemoResponse]]  # by survey code
    # by survey code, then index into its responses: {comment question code: text} (demo.comments)
    comments: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)


def _base_questionnaire(code: str) -> str:
    """The questionnaire whose score items a wave asks (an open variant adds comment questions only)."""
    return OPEN_QUESTIONNAIRES[code].base if code in OPEN_QUESTIONNAIRES else code


# Move-ins later than this had not happened when the demo was made (a fixed date keeps the data reproducible).
MOVED_IN_BY = date(2026, 11, 1)


def demo_dataset() -> DemoDataset:
    """The whole demo data set as plain values: the same on every call (no database, no clock)."""
    rand = random.Random(SEED)
    rng = np.random.default_rng(SEED)
    owners = []
    for spec in PROJECTS:
        used: set[str] = set()
        for _ in range(spec.owners):
            contract_on = spec.delivered_on - timedelta(days=rand.randint(300, 900))
            # Most owners collect their keys in the first months after delivery; a few much later.
            delay = rand.randint(0, 120) if rand.random() < 0.85 else rand.randint(120, 700)
            move_in = spec.delivered_on + timedelta(days=delay)
            owners.append(
                DemoOwner(
                    project=spec.code,
                    unit=_unit(rand, used),
                    name=rand.choice(SURNAMES) + "".join(rand.choice(GIVEN) for _ in range(rand.randint(1, 2))),
                    phone=f"13{rand.randint(0, 9)}{rand.randint(0, 99999999):08d}",
                    contract_date=contract_on,
                    move_in_date=move_in if move_in <= MOVED_IN_BY else None,
                )
            )

    channels = [Channel.PHONE] * 5 + [Channel.ONLINE] * 3 + [Channel.VISIT, Channel.PAPER]
    responses = {}
    for wave in SURVEYS:
        days = (wave.ends_on - wave.starts_on).days
        picked = []
        for index, owner in enumerate(owners):
            surveyed_on = wave.starts_on + timedelta(days=rand.randint(0, days))
            if owner.contract_date > surveyed_on or rand.random() > wave.response_rate:
                continue
            stage = stage_as_of(owner.move_in_date, surveyed_on)
            if wave.stages and stage not in wave.stages:
                continue
            picked.append((index, surveyed_on, stage))
        scores = _scores(rng, [(owners[i].project, stage) for i, _, stage in picked], wave.starts_on.year, wave.shift)
        if _base_questionnaire(wave.questionnaire) == "headline":
            scores = scores[:, :3]
        answers = encode_answer_matrix(scores).tolist()
        prefix = wave.number_prefix or f"{wave.starts_on.year}-"
        responses[wave.code] = [
            DemoResponse(
                owner=index,
                questionnaire_no=f"{prefix}{n + 1:05d}",
                surveyed_on=surveyed_on,
                stage=stage,
                channel=str(Channel.PHONE if wave.series == "callback" else rand.choice(channels)),
                answers=row_answers,
            )
            for n, ((index, surveyed_on, stage), row_answers) in enumerate(zip(picked, answers, strict=True))
        ]
    # Drawn last, from their own generator: the scores above are the same with or without them.
    return DemoDataset(owners, responses, demo_comments(DemoDataset(owners, responses), SURVEYS))


def demo_seed() -> dict[str, int]:
    """Write the demo data set, compute every wave's metrics, then open the alert tickets of the comments that
    hold an alert keyword. Returns counts of what was written."""
    from followup.services import alerts_run

    counts, survey_ids = _demo_write(demo_dataset())
    for survey_id in survey_ids:
        metrics_compute(survey_id=survey_id)
    # The bulk write sends no responses_changed. Open the tickets the alert rules raise for the responses whose
    # comments hold a keyword (and any score rule those responses also meet), as the receiver would for them; the
    # other low scores of the waves, months old in the demo's story, open none (hundreds of overdue tickets).
    now = timezone.now()
    counts["tickets"] = sum(
        len(alerts_run(survey_id=pk, changed=[], now=now))
        for pk in Survey.objects.filter(pk__in=survey_ids, responses__comments__isnull=False).distinct().values_list("pk", flat=True)
    )
    return counts


@transaction.atomic
def _demo_write(data: DemoDataset) -> tuple[dict[str, int], list[int]]:
    demo_users_ensure()
    Project.objects.bulk_create(Project(code=p.code, name=p.name, city=p.city, unit_count=p.owners) for p in PROJECTS)
    projects = {p.code: p for p in Project.objects.filter(code__in=[p.code for p in PROJECTS])}
    owners = [
        Owner(
            project=projects[o.project],
            unit=o.unit,
            name=o.name,
            phone=o.phone,
            contract_date=o.contract_date,
            move_in_date=o.move_in_date,
        )
        for o in data.owners
    ]
    # History rows too: every change to owners and responses is on record, the demo's creation included.
    bulk_create_with_history(owners, Owner, batch_size=1000, default_change_reason="演示数据")
    rows = Owner.objects.filter(project__in=projects.values()).values_list("id", "project__code", "unit")
    by_key = {(code, unit): pk for pk, code, unit in rows}
    owner_ids = [by_key[(o.project, o.unit)] for o in data.owners]

    _open_questionnaires_ensure()
    survey_ids = []
    comment_rows = []
    for wave in SURVEYS:
        survey = survey_create(
            code=wave.code,
            name=wave.name,
            series=wave.series,
            questionnaire=wave.questionnaire,
            starts_on=wave.starts_on,
            ends_on=wave.ends_on,
            target_stages=wave.stages,
            weighting=wave.weighting,
        )
        rows = [
            Response(
                survey=survey,
                owner_id=owner_ids[r.owner],
                project_id=projects[data.owners[r.owner].project].pk,
                questionnaire_no=r.questionnaire_no,
                surveyed_on=r.surveyed_on,
                stage=r.stage,
                channel=r.channel,
                answers=r.answers,
            )
            for r in data.responses[wave.code]
        ]
        bulk_create_with_history(rows, Response, batch_size=1000, default_change_reason="演示数据")
        survey_ids.append(survey.pk)
        comment_rows += _comment_rows(survey, data.responses[wave.code], data.comments.get(wave.code, {}))
    # As the importer stores them: one row per answered comment question, each with its history row.
    bulk_create_with_history(comment_rows, ResponseComment, batch_size=1000, default_change_reason="演示数据")
    counts = {
        "projects": len(projects),
        "owners": len(owners),
        "responses": sum(len(r) for r in data.responses.values()),
        "comments": len(comment_rows),
        "surveys": len(SURVEYS),
        "series": len({wave.series for wave in SURVEYS}),
        "users": len(DEMO_USERS),
    }
    return counts, survey_ids


def _open_questionnaires_ensure() -> None:
    """The demo's questionnaires with open comment questions (demo.comments), unless they exist already."""
    for spec in OPEN_QUESTIONNAIRES.values():
        if Questionnaire.objects.filter(code=spec.code).exists():
            continue
        items = [ItemDef(q.code, q.label, q.kind, q.port, q.required) for q in SCORE_ITEMS[spec.base]]
        items += [ItemDef(q.code, q.label, "comment", q.port) for q in spec.comments]
        base = Questionnaire.objects.filter(code=spec.base).order_by("version").first()
        questionnaire_create(code=spec.code, name=spec.name, items=items, based_on=base)


def _comment_rows(survey: Survey, responses: list[DemoResponse], comments: dict[int, dict[str, str]]) -> list[ResponseComment]:
    if not comments:
        return []
    questions = dict(Question.objects.filter(survey=survey, kind="comment").values_list("code", "id"))
    ids = dict(Response.objects.filter(survey=survey).values_list("questionnaire_no", "id"))
    return [
        ResponseComment(response_id=ids[responses[index].questionnaire_no], question_id=questions[code], text=text)
        for index, texts in sorted(comments.items())
        for code, text in texts.items()
    ]
