"""Projects and owners as both importers need them: resolve project codes, upsert owners (project, unit, name).

A blank phone or date in a file never erases what is stored: a survey firm's blank means "not known to us",
and the roster may know better. A given value replaces the stored one, with history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from owners.models import Owner, Project
from surveys.importing.bulk import insert_with_history, update_with_history

OWNER_UPDATABLE = ("phone", "contract_date", "move_in_date")


@dataclass
class ProjectPlan:
    ids: dict[str, int]  # code → id of existing projects
    new_names: dict[str, str]  # code → name of projects to create (name may be "" = error)

    def create(self, *, at: datetime) -> None:
        if not self.new_names:
            return
        created = Project.objects.bulk_create(
            [Project(code=code, name=name) for code, name in sorted(self.new_names.items())]
        )
        for project in created:
            self.ids[project.code] = project.pk
        if any(project.pk is None for project in created):  # a backend without RETURNING
            self.ids.update(dict(Project.objects.filter(code__in=self.new_names).values_list("code", "id")))


def project_plan(*, codes_and_names: list[tuple[str, str]]) -> ProjectPlan:
    """Which project codes exist; for the new ones, the first non-blank name given in the file."""
    codes = {code for code, _ in codes_and_names}
    ids = dict(Project.objects.filter(code__in=codes).order_by().values_list("code", "id"))
    new_names: dict[str, str] = {}
    for code, name in codes_and_names:
        if code in ids:
            continue
        if not new_names.get(code):
            new_names[code] = name
    return ProjectPlan(ids=ids, new_names=new_names)


OwnerKey = tuple[str, str, str]  # (project code, unit, name)


class StoredOwner(NamedTuple):
    """What an import compares of a stored owner (the rest is read only for the rows it updates)."""

    id: int
    project_id: int
    unit: str
    name: str
    phone: str
    contract_date: date | None
    move_in_date: date | None

    @property
    def row(self) -> dict:
        return self._asdict()


def stored_owners(*, project_ids: list[int]) -> dict[tuple[int, str, str], StoredOwner]:
    """The owners of these projects by (project id, unit, name): the fields an import compares."""
    rows = Owner.objects.filter(project_id__in=project_ids).order_by().values_list(*StoredOwner._fields)
    return {(values[1], values[2], values[3]): StoredOwner._make(values) for values in rows}


@dataclass
class OwnerWrite:
    """Owners to insert and to update; ``ids`` maps every file owner key to its (future) id."""

    inserts: list[dict] = field(default_factory=list)
    insert_keys: list[OwnerKey] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    ids: dict[OwnerKey, int] = field(default_factory=dict)
    unchanged: int = 0

    def write(self, *, user_id, at: datetime, reason: str, progress=None) -> None:
        new_ids = insert_with_history(Owner, self.inserts, user_id=user_id, at=at, reason=reason, progress=progress)
        for key, new_id in zip(self.insert_keys, new_ids, strict=True):
            self.ids[key] = new_id
        update_with_history(
            Owner, self.updates, fields=[*OWNER_UPDATABLE, "updated_at"], user_id=user_id, at=at, reason=reason
        )


def owner_write_plan(
    *,
    owners: dict[OwnerKey, dict],
    project_ids: dict[str, int],
    stored: dict[tuple[int, str, str], StoredOwner],
    at: datetime,
) -> OwnerWrite:
    """``owners``: {key: {"phone": str, "contract_date": date|None, "move_in_date": date|None}} from the file,
    blank (or a masked phone) = keep what is stored."""
    plan = OwnerWrite()
    for key, given in owners.items():
        if "*" in (given.get("phone") or ""):
            # A masked phone (138****5678) comes back from our own error workbook: it means "as stored".
            given = {**given, "phone": ""}
        code, unit, name = key
        project_id = project_ids[code]
        current = stored.get((project_id, unit, name))
        if current is None:
            plan.inserts.append(
                {
                    "project_id": project_id,
                    "unit": unit,
                    "name": name,
                    "phone": given.get("phone") or "",
                    "contract_date": given.get("contract_date"),
                    "move_in_date": given.get("move_in_date"),
                    "anonymised_at": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            plan.insert_keys.append(key)
            continue
        plan.ids[key] = current.id
        changes = {
            field: value
            for field, value in given.items()
            if value is not None and value != "" and value != getattr(current, field)
        }
        if changes:
            plan.updates.append({**current.row, **changes, "updated_at": at})
        else:
            plan.unchanged += 1
    return plan


def stored_move_in(
    stored: dict[tuple[int, str, str], StoredOwner], project_id: int | None, unit: str, name: str
) -> date | None:
    owner = stored.get((project_id, unit, name)) if project_id is not None else None
    return owner.move_in_date if owner else None
