"""The interactive API docs work without internet (every asset from the app itself), and the
OpenAPI document says what a client must know: bearer security, the error body of API.md on
refusals, the limits of list parameters."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.db
PUBLIC = {("post", "/api/v1/auth/token"), ("get", "/api/v1/auth/jwks"), ("get", "/api/v1/verify"),
          ("post", "/api/v1/verify"), ("get", "/api/v1/credentials/jwks"), ("get", "/api/v1/credentials/status"),
          ("get", "/api/v1/public/dismissals"), ("get", "/healthz"), ("get", "/api/v1/audit/checkpoint")}
METHODS = ("get", "post", "put", "patch", "delete")


async def test_docs_page_loads_everything_from_the_app(client: Any) -> None:
    for page in ("/schema", "/schema/swagger"):
        r = await client.get(page)
        assert r.status_code == 200, page
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text)
        assert len(urls) >= 3, urls
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        assert "https://" not in r.text and "http://" not in r.text


async def test_openapi_security_is_what_the_server_does(client: Any) -> None:
    """Each operation's declared security is checked against the server: bearer ones answer 401
    without a token, public ones do not."""
    doc = (await client.get("/schema/openapi.json")).json()
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    public, bearer = set(), set()
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            # Integer path parameters (a document version) need a number to reach the handler.
            url = re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0) == "{version}" else
                         "00000000-0000-4000-8000-000000000000", path)
            r = await client.request(method.upper(), url)
            if op["security"] == []:
                public.add((method, path))
                assert r.status_code != 401, (method, path, r.text)
            else:
                assert op["security"] == [{"bearerAuth": []}], (method, path)
                bearer.add((method, path))
                assert r.status_code == 401, (method, path, r.status_code)
                assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert public >= PUBLIC
    assert len(bearer) > 50


async def test_openapi_refusals_use_the_contract_error_body(client: Any) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    body = doc["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"status", "code", "message", "message_zh", "article", "detail"}
    count = 0
    for item in doc["paths"].values():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, status)
                    count += 1
            for parameter in op.get("parameters", []):
                if parameter["name"] == "limit":
                    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 500)
    assert count > 100


async def test_openapi_is_as_strict_as_the_validation(client: Any) -> None:
    """What the server refuses by rule (unknown fields, times without an offset or outside the
    calendar range, malformed identity numbers) the schema refuses too."""
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    incident = schemas["IncidentCreate"]
    assert incident["additionalProperties"] is False
    pattern = re.compile(incident["properties"]["occurred_at"]["pattern"])
    for bad in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-26T10:00:00", "1899-12-31T00:00:00Z"):
        assert not pattern.search(bad), bad
    for good in ("2026-11-26T10:00:00Z", "2026-11-26T18:00:00+08:00", "1999-01-01T00:00:00.5-05:00"):
        assert pattern.search(good), good
    person = schemas["PersonCreate"]["properties"]["id_number"]
    assert (person["minLength"], person["maxLength"]) == (18, 18)
    assert not re.search(person["pattern"], "2101**********123X")
    assert re.search(person["pattern"], "21010219900101001X")
    # Bounds of 0 and the keys of Literal-keyed objects, which the generator leaves out.
    assert schemas["PositionIn"]["properties"]["accuracy_m"]["minimum"] == 0
    assert schemas["AppointmentCreate"]["properties"]["consents"]["propertyNames"]["enum"] == ["employer", "self"]


async def test_openapi_examples_pass_their_own_rules(client: Any) -> None:
    from backend.core.checksums import validate_credit_code, validate_id_number
    from backend.credentials.numbering import parse_number

    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    seen = 0
    for schema in schemas.values():
        for name, prop in (schema.get("properties") or {}).items():
            for example in prop.get("examples") or []:
                if "pattern" in prop and isinstance(example, str):
                    assert re.search(prop["pattern"], example), (name, example)
                if name == "credit_code":
                    validate_credit_code(example)
                if name == "id_number":
                    validate_id_number(example)
                if name == "number":
                    parse_number(example)
                seen += 1
    assert seen > 50
