"""A property-based contract test (schemathesis) of every operation in the OpenAPI document, as
each role: whatever the generated parameters and bodies, no answer is a 500, every status is one
the document names, and every answer matches its schema. Kept to a few examples per operation, so
it takes seconds."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .api_support import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 4


@pytest.mark.parametrize("role", ["admin", "tech_sales", "requester"])
def test_every_operation_keeps_its_contract(app, client, desk, role, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 100_000)
    document = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = bearer(getattr(desk, role))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in document["paths"].values())
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_contract(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        keeps_contract()
