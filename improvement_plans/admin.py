"""Django admin for plans: for the administrator to look and mend; the workflow itself runs through the pages.

Workflow state is read-only here: a plan's status and version, an action item's progress status, its promotion and
its pilot outcome, and the records the workflow writes (transitions, progress notes, comments) with who and when.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from improvement_plans.models import ActionItem, ImprovementPlan, PlanComment, PlanTransition, ProgressNote

# Moved only by the workflow's services (progress notes, promotion, the pilot's outcome).
ITEM_WORKFLOW_FIELDS = ["status", "promoted_at", "outcome", "outcome_reference", "no_promise_to_owners"]


class ActionItemInline(admin.TabularInline):
    """The plan's items at a glance; each is mended on its own page (the link), where the workflow fields are fixed."""

    model = ActionItem
    extra = 0
    fields = ["kind", "title", "measure_category", "responsible_department", "due_on", "status"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class PlanTransitionInline(admin.TabularInline):
    model = PlanTransition
    extra = 0
    fields = ["at", "action", "from_status", "to_status", "by", "comment"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("流转记录")

    def has_add_permission(self, request, obj=None):
        return False


class PlanCommentInline(admin.TabularInline):
    model = PlanComment
    extra = 0
    fields = ["created_at", "author", "text"]
    readonly_fields = ["created_at", "author"]

    def has_add_permission(self, request, obj=None):
        return False  # a comment is written on the plan's page, by its author


@admin.register(ImprovementPlan)
class ImprovementPlanAdmin(SimpleHistoryAdmin):
    list_display = ["year", "port", "status", "satisfaction_target", "loyalty_target", "submitted_by", "updated_at"]
    list_filter = ["year", "port", "status"]
    readonly_fields = ["status", "version", "submitted_by", "created_by", "created_at", "updated_at"]
    inlines = [ActionItemInline, PlanTransitionInline, PlanCommentInline]
    fieldsets = [
        (None, {"fields": ["year", "port", "status", "version"]}),
        (_("目标与方向"), {"fields": ["satisfaction_target", "loyalty_target", "directions", "feedback_summary"]}),
        (
            _("基线"),
            {
                "fields": [
                    "baseline_survey",
                    "baseline_satisfaction_rate",
                    "baseline_satisfaction_ci_low",
                    "baseline_satisfaction_ci_high",
                    "baseline_n",
                    "baseline_loyalty_rate",
                    "baseline_loyalty_ci_low",
                    "baseline_loyalty_ci_high",
                    "baseline_loyalty_base",
                ]
            },
        ),
        (_("记录"), {"fields": ["created_by", "submitted_by", "created_at", "updated_at"]}),
    ]


class ProgressNoteInline(admin.TabularInline):
    model = ProgressNote
    extra = 0
    fields = ["created_at", "author", "percent", "text"]
    readonly_fields = ["created_at", "author", "percent"]

    def has_add_permission(self, request, obj=None):
        return False  # progress is reported on the item's page, by the responsible department


@admin.register(ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ["title", "plan", "kind", "measure_category", "responsible_department", "due_on", "status"]
    list_filter = ["kind", "status", "measure_category", "plan__year"]
    search_fields = ["title", "description", "question_code"]
    list_select_related = ["plan", "responsible_department"]
    inlines = [ProgressNoteInline]

    def get_readonly_fields(self, request, obj=None):
        # A saved item's kind changes only by promotion (a research topic becoming an improvement item).
        return ["kind", *ITEM_WORKFLOW_FIELDS] if obj is not None else ITEM_WORKFLOW_FIELDS


@admin.register(PlanTransition)
class PlanTransitionAdmin(admin.ModelAdmin):
    """The approval trail is evidence: administrators read it, nobody writes, edits or deletes it."""

    list_display = ["plan", "action", "from_status", "to_status", "by", "at"]
    list_filter = ["action"]
    list_select_related = ["plan", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanComment)
class PlanCommentAdmin(admin.ModelAdmin):
    list_display = ["plan", "author", "created_at"]
    list_select_related = ["plan", "author"]
    readonly_fields = ["plan", "author", "created_at"]

    def has_add_permission(self, request):
        return False  # a comment is written on the plan's page, by its author
