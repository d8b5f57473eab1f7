"""The standard questionnaire (DESIGN.md §4): three headline items, five port items and their detail items.

These definitions seeded the stored templates (``Questionnaire`` ``standard`` v1 and ``headline`` v1, migration
0007); waves read their questions from the database. Tests and the demo data use them as the standard's items.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionDef:
    code: str
    label: str
    kind: str  # headline | port | detail | comment
    port: str = ""
    required: bool = False


STANDARD = (
    QuestionDef("overall", "总体满意度", "headline", required=True),
    QuestionDef("repurchase", "再次购买意愿", "headline", required=True),
    QuestionDef("recommend", "推荐意愿", "headline", required=True),
    QuestionDef("design", "规划设计", "port", "design"),
    QuestionDef("design_layout", "户型设计", "detail", "design"),
    QuestionDef("design_landscape", "园林景观", "detail", "design"),
    QuestionDef("design_facilities", "社区配套", "detail", "design"),
    QuestionDef("engineering", "工程质量", "port", "engineering"),
    QuestionDef("engineering_structure", "房屋质量（渗漏/裂缝）", "detail", "engineering"),
    QuestionDef("engineering_finish", "装修质量", "detail", "engineering"),
    QuestionDef("engineering_repair", "维修及时性", "detail", "engineering"),
    QuestionDef("sales", "销售服务", "port", "sales"),
    QuestionDef("sales_promise", "销售承诺兑现", "detail", "sales"),
    QuestionDef("sales_contract", "签约流程", "detail", "sales"),
    QuestionDef("sales_handover", "交付收楼", "detail", "sales"),
    QuestionDef("service", "客户服务", "port", "service"),
    QuestionDef("service_complaint", "投诉处理", "detail", "service"),
    QuestionDef("service_response", "响应速度", "detail", "service"),
    QuestionDef("service_care", "客户关怀活动", "detail", "service"),
    QuestionDef("property", "物业管理", "port", "property"),
    QuestionDef("property_security", "安全管理", "detail", "property"),
    QuestionDef("property_cleaning", "保洁服务", "detail", "property"),
    QuestionDef("property_greening", "绿化养护", "detail", "property"),
    QuestionDef("property_maintenance", "公共设施维护", "detail", "property"),
)

# A touch-point survey (a callback, a handover visit) asks the three headline items only.
HEADLINE_ONLY = STANDARD[:3]

QUESTIONNAIRES = {"standard": STANDARD, "headline": HEADLINE_ONLY}
