"""Owner pages for brand-service staff: the list with search and adding an owner (the roster import is a data-in
page of ``surveys``)."""

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from departments.decorators import brand_service_required
from owners.forms import OwnerForm
from owners.selectors import owners_search
from owners.services import owner_create

# A survey code as the entry form passes it (a slug); anything else is ignored.
SURVEY_CODE = re.compile(r"[-a-zA-Z0-9_]{1,64}")


@brand_service_required
@require_GET
def owner_list(request):
    query = request.GET.get("q", "").strip()
    page = Paginator(owners_search(query=query), 50).get_page(request.GET.get("page"))
    return render(request, "owners/owner_list.html", {"page": page, "query": query})


@brand_service_required
@require_http_methods(["GET", "POST"])
def owner_new(request):
    """Add one owner; from the entry form (``?survey=CODE``) the new owner comes back selected."""
    survey_code = request.GET.get("survey") or request.POST.get("survey") or ""
    survey_code = survey_code if SURVEY_CODE.fullmatch(survey_code) else ""
    if request.method == "POST":
        form = OwnerForm(request.POST)
        if form.is_valid():
            try:
                owner = owner_create(**form.cleaned_data)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("已新增业主 %(owner)s（%(project)s）") % {"owner": owner, "project": owner.project.name})
                if survey_code:
                    return redirect(f"{reverse('surveys:entry')}?{urlencode({'survey': survey_code, 'owner': owner.pk})}")
                return redirect(f"{reverse('owners:list')}?{urlencode({'q': owner.unit})}")
    else:
        form = OwnerForm(initial=_prefill(request.GET.get("q", "")))
    status = 400 if form.is_bound else 200
    return render(request, "owners/owner_form.html", {"form": form, "survey_code": survey_code}, status=status)


def _prefill(query: str) -> dict:
    """What was searched for in vain becomes the unit (if it has digits) or the name of the new owner."""
    query = query.strip()
    if not query:
        return {}
    if any(char.isdigit() for char in query):
        return {"unit": query} if "-" in query else {}
    return {"name": query}
