"""What moves the dashboards' cache version (``core.versions.DATA``), and the warming after a recompute.

Every input of a dashboard page moves the version in the transaction that changes it: the metrics app's
``metrics_changed`` (snapshots and fill states), saves and deletions of surveys, questions, projects and of
every model of the improvement plans and the feedback apps (and runs saved one by one). What no signal names (an owner count in the
feedback panel) is bounded by the pages' TTL.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db.models.signals import post_delete, post_save

from core.versions import DATA, versions_bump

logger = logging.getLogger(__name__)


def data_changed(sender=None, **kwargs) -> None:
    versions_bump(DATA)


def warm_after_recompute(sender=None, *, survey_id: int, **kwargs) -> None:
    from dashboards.warming import warm_pages

    try:
        warm_pages()
    except Exception:  # noqa: BLE001 - a cold cache is slower, never wrong
        logger.warning("warming the dashboards after survey %s failed", survey_id, exc_info=True)


def connect() -> None:
    from satisfaction.events import metrics_changed, metrics_written

    metrics_changed.connect(data_changed, dispatch_uid="dashboards.metrics_changed")
    metrics_written.connect(warm_after_recompute, dispatch_uid="dashboards.warm")
    models = [apps.get_model("surveys", "Survey"), apps.get_model("surveys", "Question"),
              apps.get_model("owners", "Project")]
    # Runs saved one by one (the admin, fixtures); the metrics app's own writes send metrics_changed. Not the
    # snapshot models: a receiver on them would turn each bulk delete of a survey's rows into a row-by-row one.
    models.append(apps.get_model("satisfaction", "MetricRun"))
    models += list(apps.get_app_config("improvement_plans").get_models())
    models += list(apps.get_app_config("feedback").get_models())
    for model in models:
        if model._meta.label.lower().startswith(("improvement_plans.historical", "feedback.historical")):
            continue
        post_save.connect(data_changed, sender=model, dispatch_uid=f"dashboards-save-{model._meta.label}")
        post_delete.connect(data_changed, sender=model, dispatch_uid=f"dashboards-delete-{model._meta.label}")
