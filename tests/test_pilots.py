"""Process pilots (§5.3): the measured comparison against statsmodels, the outcome and the no-promise rule."""

import pytest
from django.core.exceptions import ValidationError
from statsmodels.stats import proportion as sm_proportion

from improvement_plans import services
from improvement_plans.models import ItemKind, ItemStatus, MeasureCategory, PilotOutcome
from improvement_plans.selectors import pilot_comparison


@pytest.fixture
def pilot(property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    return services.action_item_create(
        plan=plan,
        user=property_head,
        kind=ItemKind.PILOT,
        title="报修 24 小时闭环",
        measure_category=MeasureCategory.PROCESS_STANDARDS,
        pilot_scope="一期 3 栋",
        old_process="报修登记后排班",
        new_process="接单即派工，24 小时回访",
        cost_analysis="增加 1 名夜班维修工，年成本约 8 万元",
    )


def record(pilot, user, **overrides):
    values = dict(
        comparison_kind="pilot_vs_rest",
        pilot_satisfied=83,
        pilot_n=97,
        comparison_satisfied=402,
        comparison_n=531,
    )
    values.update(overrides)
    return services.action_item_pilot_record(item=pilot, user=user, **values)


@pytest.mark.parametrize(
    "pilot_x, pilot_n, comparison_x, comparison_n",
    [(83, 97, 402, 531), (41, 60, 45, 58), (12, 40, 30, 40), (200, 250, 180, 250)],
)
def test_pilot_comparison_matches_statsmodels_wald_test(pilot, property_head, pilot_x, pilot_n, comparison_x, comparison_n):
    item = record(
        pilot, property_head, pilot_satisfied=pilot_x, pilot_n=pilot_n,
        comparison_satisfied=comparison_x, comparison_n=comparison_n,
    )
    result = pilot_comparison(item=item)
    reference = sm_proportion.test_proportions_2indep(pilot_x, pilot_n, comparison_x, comparison_n, method="wald", compare="diff")
    assert result.pilot_rate == pytest.approx(pilot_x / pilot_n)
    assert result.comparison_rate == pytest.approx(comparison_x / comparison_n)
    assert result.difference == pytest.approx(pilot_x / pilot_n - comparison_x / comparison_n)
    assert result.z == pytest.approx(reference.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-7)
    assert result.significant == (abs(reference.statistic) > 1.96)


def test_a_pilot_stays_unpromisable_until_adopted_with_a_reference(pilot, property_head):
    assert pilot.no_promise_to_owners is True
    item = record(pilot, property_head)
    assert item.no_promise_to_owners is True and item.outcome == PilotOutcome.PENDING
    with pytest.raises(ValidationError) as missing:
        record(pilot, property_head, outcome=PilotOutcome.COMPANY_STANDARD, outcome_reference=" ")
    assert "编号" in missing.value.message_dict["outcome_reference"][0]
    item.refresh_from_db()
    assert item.no_promise_to_owners is True
    item = record(pilot, property_head, outcome=PilotOutcome.DEPARTMENT_GUIDELINE, outcome_reference="WY-ZY-2027-03")
    assert (item.no_promise_to_owners, item.status, item.outcome_reference) == (False, ItemStatus.DONE, "WY-ZY-2027-03")
    item = record(pilot, property_head, outcome=PilotOutcome.DROPPED, outcome_reference="WY-ZY-2027-03")
    assert (item.no_promise_to_owners, item.status, item.outcome_reference) == (True, ItemStatus.DROPPED, "")


def test_pilot_counts_must_be_consistent(pilot, property_head):
    with pytest.raises(ValidationError) as too_many:
        record(pilot, property_head, pilot_satisfied=98, pilot_n=97)
    assert "不能大于样本量" in too_many.value.message_dict["pilot_satisfied"][0]
    with pytest.raises(ValidationError) as half:
        record(pilot, property_head, comparison_satisfied=None)
    assert "同时填写" in half.value.message_dict["comparison_satisfied"][0]
    pilot.refresh_from_db()
    assert pilot.pilot_n is None


def test_only_a_pilot_records_a_comparison(property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    item = services.action_item_create(
        plan=plan, user=property_head, title="保洁", measure_category=MeasureCategory.FRONTLINE_QUALITY
    )
    with pytest.raises(ValidationError, match="只有流程试点"):
        record(item, property_head)


def test_a_pilot_without_both_groups_has_no_comparison(pilot):
    assert pilot_comparison(item=pilot) is None


def test_pilot_results_are_recorded_with_history(pilot, property_head):
    record(pilot, property_head, outcome=PilotOutcome.COMPANY_STANDARD, outcome_reference="GS-2027-01")
    reasons = list(pilot.history.order_by("history_date", "history_id").values_list("history_change_reason", flat=True))
    assert reasons == ["新增", "记录试点结果"]
