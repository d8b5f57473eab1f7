# Seeds the survey series and the two questionnaire templates, and files every existing wave under them:
# a wave joins the series named by its source, the callback survey ``callback-YEAR`` joins ``callback``, and its
# questionnaire code becomes version 1 of that questionnaire. A wave whose code names no known questionnaire gets
# one made from its own questions, so that its template matches what it asked.
#
# The definitions are copied here (not imported) so that this migration means the same whatever the code becomes.

import re

from django.db import migrations

SERIES = (
    # code, name, source, position
    ("company", "公司年度满意度调查", "company", 1),
    ("group", "集团第三方满意度调查", "group", 2),
    ("touchpoint", "触点调查", "touchpoint", 3),
    ("handover", "交付/入住", "touchpoint", 4),
    ("repair", "维修", "touchpoint", 5),
    ("callback", "回访", "touchpoint", 6),
    ("complaint", "投诉处理后", "touchpoint", 7),
)

STANDARD = (
    ("overall", "总体满意度", "headline", "", True),
    ("repurchase", "再次购买意愿", "headline", "", True),
    ("recommend", "推荐意愿", "headline", "", True),
    ("design", "规划设计", "port", "design", False),
    ("design_layout", "户型设计", "detail", "design", False),
    ("design_landscape", "园林景观", "detail", "design", False),
    ("design_facilities", "社区配套", "detail", "design", False),
    ("engineering", "工程质量", "port", "engineering", False),
    ("engineering_structure", "房屋质量（渗漏/裂缝）", "detail", "engineering", False),
    ("engineering_finish", "装修质量", "detail", "engineering", False),
    ("engineering_repair", "维修及时性", "detail", "engineering", False),
    ("sales", "销售服务", "port", "sales", False),
    ("sales_promise", "销售承诺兑现", "detail", "sales", False),
    ("sales_contract", "签约流程", "detail", "sales", False),
    ("sales_handover", "交付收楼", "detail", "sales", False),
    ("service", "客户服务", "port", "service", False),
    ("service_complaint", "投诉处理", "detail", "service", False),
    ("service_response", "响应速度", "detail", "service", False),
    ("service_care", "客户关怀活动", "detail", "service", False),
    ("property", "物业管理", "port", "property", False),
    ("property_security", "安全管理", "detail", "property", False),
    ("property_cleaning", "保洁服务", "detail", "property", False),
    ("property_greening", "绿化养护", "detail", "property", False),
    ("property_maintenance", "公共设施维护", "detail", "property", False),
)
QUESTIONNAIRES = (
    ("standard", "标准问卷", STANDARD),
    ("headline", "核心指标问卷（触点）", STANDARD[:3]),
)
CALLBACK_CODE = re.compile(r"^callback-\d{4}$")


def forwards(apps, schema_editor):
    SurveySeries = apps.get_model("surveys", "SurveySeries")
    Questionnaire = apps.get_model("surveys", "Questionnaire")
    QuestionnaireItem = apps.get_model("surveys", "QuestionnaireItem")
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")

    series = {}
    for code, name, source, position in SERIES:
        series[code], _ = SurveySeries.objects.get_or_create(
            code=code, defaults={"name": name, "source": source, "position": position}
        )
    templates = {}
    for code, name, items in QUESTIONNAIRES:
        questionnaire, created = Questionnaire.objects.get_or_create(code=code, version=1, defaults={"name": name})
        if created:
            QuestionnaireItem.objects.bulk_create(
                QuestionnaireItem(
                    questionnaire=questionnaire, code=item, label=label, kind=kind, port=port, position=position,
                    required=required,
                )
                for position, (item, label, kind, port, required) in enumerate(items)
            )
        templates[code] = questionnaire

    for survey in Survey.objects.order_by("id"):
        if CALLBACK_CODE.match(survey.code) and survey.source == "touchpoint":
            survey.series = series["callback"]
        else:
            survey.series = series.get(survey.source, series["company"])
        questionnaire = templates.get(survey.questionnaire)
        if questionnaire is None:
            questionnaire = Questionnaire.objects.create(
                code=(re.sub(r"[^-a-zA-Z0-9_]", "-", survey.questionnaire) or f"survey-{survey.pk}")[:64],
                version=1,
                name=f"{survey.name}问卷"[:100],
            )
            QuestionnaireItem.objects.bulk_create(
                QuestionnaireItem(
                    questionnaire=questionnaire, code=q.code, label=q.label, kind=q.kind, port=q.port,
                    position=q.position, required=q.required,
                )
                for q in Question.objects.filter(survey=survey).order_by("position")
            )
            templates[survey.questionnaire] = questionnaire
        survey.questionnaire_version = questionnaire
        survey.save(update_fields=["series", "questionnaire_version"])


def backwards(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    for survey in Survey.objects.select_related("questionnaire_version"):
        if survey.questionnaire_version_id:
            survey.questionnaire = survey.questionnaire_version.code
            survey.save(update_fields=["questionnaire"])


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0006_survey_series_questionnaires_comments"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
