"""The API answers as its OpenAPI schema says, for every role: no server error, no response outside the schema.

Schemathesis generates requests from /api/schema/ and sends them in-process (WSGI) with each role's token.
Bounded: a few examples per operation, so the whole file runs in well under a minute.
"""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from core.tokens import api_token_issue
from tests.api_world import build_world

MAX_EXAMPLES = 4
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, negative_data_rejection]
# One persona per role (the committee reads as management does; a head is scoped to their ports).
ROLES = ["staff", "manager", "committee_member", "property_head"]


def load_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))


def test_the_served_schema_is_the_generated_one(client, staff):
    client.force_login(staff)
    served = client.get("/api/schema/?format=json").json()
    generated = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    assert served["paths"].keys() == generated["paths"].keys()
    assert "/api/v1/metrics/" in served["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_conforms_to_the_schema_for_each_role(role, request):
    build_world()
    user = request.getfixturevalue(role)
    token, _ = api_token_issue(user=user, client="schemathesis")
    app = get_wsgi_application()
    schema = load_schema()
    headers = {"Authorization": f"Token {token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/auth/token/":
            continue  # failed logins would lock the account out; the token endpoint has its own tests

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
            case.call_and_validate(app=app, headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert failures == [], "\n\n".join(failures)
