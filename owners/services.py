"""Writes of projects and owners (the roster importer is a data-in path: ``surveys.importing.roster``)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from owners.models import Owner, Project


def owner_create(
    *,
    project: Project,
    unit: str,
    name: str,
    phone: str = "",
    move_in_date: date | None = None,
    contract_date: date | None = None,
) -> Owner:
    """One owner, added on the spot (entry form, owner page); (project, unit, name) identifies them."""
    owner = Owner(
        project=project,
        unit=unit.strip(),
        name=name.strip(),
        phone=phone.strip(),
        move_in_date=move_in_date,
        contract_date=contract_date,
    )
    owner.full_clean(validate_unique=False, validate_constraints=False)
    if Owner.objects.filter(project=project, unit=owner.unit, name=owner.name).exists():
        raise ValidationError({"name": f"楼盘“{project.name}”{owner.unit} 已有业主“{owner.name}”"})
    try:
        with transaction.atomic():
            owner.save()
    except IntegrityError as exc:  # the same owner added at the same moment by someone else
        raise ValidationError({"name": f"楼盘“{project.name}”{owner.unit} 已有业主“{owner.name}”"}) from exc
    return owner
