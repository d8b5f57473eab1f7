"""The API answers as its OpenAPI schema says, for every role: every schemathesis check (``--checks all``) passes —
no server error, no status code, header, content type or body outside the schema, bad data refused, good data taken.

Schemathesis generates requests from /api/schema/ and sends them in-process (WSGI) with each role's token.
Bounded: a few examples per operation, so the whole file runs in well under a minute.
"""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS, load_all_checks, max_response_time
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.tokens import api_token_issue
from tests.api_world import shared_world

MAX_EXAMPLES = 4
load_all_checks()
def references_exist(ctx, response, case):
    """``positive_data_acceptance``, except for a body naming an object that does not exist (plan 0, project "x").

    A schema promises which requests are well formed, not which objects exist or what an uploaded file holds — as
    schemathesis itself excuses a login with made-up credentials; such a 400 must be about that and nothing else.
    """
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 400 or not _only_missing_objects(response.json()):
            raise
        return None


def _only_missing_objects(body) -> bool:
    """Every message names a missing object, or is about an uploaded file's content (a schema says "binary", not
    "a spreadsheet with these columns")."""
    messages = [
        m for key, value in body.items() if key != "file" for m in (value if isinstance(value, list) else [value])
    ]
    return all(isinstance(m, str) and ("不存在" in m or m in CROSS_FIELD_RULES) for m in messages) and (
        bool(messages) or "file" in body
    )


# Rules between two fields that OpenAPI cannot state; each is a documented business rule, answered 400 in words.
CROSS_FIELD_RULES = {"结束日期不能早于开始日期。"}


# Every check schemathesis has ("--checks all"), but the response-time one: no wall clock in a correctness test.
ALL_CHECKS = [
    references_exist if check is positive_data_acceptance else check
    for check in CHECKS.get_all()
    if check is not max_response_time
]
# One persona per role (the committee reads as management does; a head is scoped to their ports).
ROLES = ["staff", "manager", "committee_member", "property_head"]


def load_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    # A NUL anywhere in a request is refused with 400 by design (core/request_limits.py; the schema's 400 says so):
    # schema-valid data carries none, as with schemathesis's --generation-allow-x00=false.
    schema.config.generation.update(allow_x00=False)
    # Checks that send a request again (without credentials, after a delete, …) send it through the app too.
    schema.app = get_wsgi_application()
    return schema


def test_the_served_schema_is_the_generated_one(client, staff):
    client.force_login(staff)
    served = client.get("/api/schema/?format=json").json()
    generated = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    assert served["paths"].keys() == generated["paths"].keys()
    assert "/api/v1/metrics/" in served["paths"]


@pytest.fixture(scope="module", autouse=True)
def world(request, django_db_setup, django_db_blocker):
    yield from shared_world(request, django_db_blocker)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_conforms_to_the_schema_for_each_role(world, role, request):
    user = request.getfixturevalue(role)
    token, _ = api_token_issue(user=user, client="schemathesis")
    schema = load_schema()
    headers = {"Authorization": f"Token {token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ("/api/v1/auth/token/", "/api/v1/auth/logout/"):
            # Failed logins would lock the account out, a logout would end the token every other call uses:
            # both have their own tests (test_auth_security.py, test_api_tokens.py).
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers, checks=ALL_CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert failures == [], "\n\n".join(failures)
    # Every call above was made with a live token, not answered 401 for want of one.
    assert Client().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
