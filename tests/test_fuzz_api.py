"""Hostile input against EVERY route of the published OpenAPI schema: never a 500, and every non-2xx
JSON answer is the error body of API.md (status, code, message, message_zh, article, detail).

The battery is driven by the schema itself (paths x methods, parameters, request bodies), sampled
with a fixed seed so a run is reproducible and stays well under a minute per backend:
- path parameters: real ids of seeded objects, random UUIDs, non-UUIDs, very long strings,
  unicode, '..', NUL;
- query parameters: wrong types, negative and huge numbers, huge strings, NUL;
- JSON bodies: malformed, `[]`, `null`, `{}`, nesting 1000 deep, 100k-char strings, 2^64, 10^400,
  NaN/Infinity, a schema-valid body with one field replaced by a hostile value, unknown fields,
  wrong Content-Type, empty body, oversize body;
- auth: several roles, no token, forged/expired/garbage tokens;
- replays: the same id / Idempotency-Key with a different body;
- 404 on unknown routes and 405 on wrong methods, with the error body.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from backend.core.auth import issue_access_token
from backend.core.checksums import make_id_number
from backend.core.signing import Keys
from tests.conftest import demo_id
from tests.inspections.helpers import Flow, at, credit_code, inspection_body, position

pytestmark = pytest.mark.db

SEED = int(os.environ.get("FIELDCHECK_FUZZ_SEED", "20261126"))  # fixed unless exploring
ERROR_KEYS = {"status", "code", "message", "message_zh", "article", "detail"}
ROLES: list[str | None] = ["sy.officer1", "sy.inspector.ft", "sy.hr", "ln.hr", "sy.admin", "sy.supervisor", None]
# Routes whose success (and, by the brief, error) bodies are not JSON.
EXEMPT_BODY = re.compile(r"(card\.png|/original|/thumbnail|^/v/|\.csv)$|^/v/|^/d/")  # /v/, /d/: HTML pages
METHODS = ("get", "post", "put", "patch", "delete")

PATH_JUNK = [
    "not-a-uuid", "0", "-1", "a" * 5000, "%E6%B2%88%E9%98%B3", "沈阳", "..", "%2e%2e", "..%2f..%2fetc%2fpasswd",
    "%00", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "null",
    "%F0%9F%92%A9", "%FF%FE", "1e999", "{}",
]
QUERY_JUNK: list[str] = [
    "", "-1", "0", "abc", "1.5", "NaN", "Infinity", "-9223372036854775809", "18446744073709551616",
    "1" + "0" * 400, "x" * 20000, "\x00", "沈阳", "true", "null", "[]", "2026-13-45", "!!!",
    "eyJhIjoxfQ", "W10", "bnVsbA", "eyJhIjpbXX0", base64.urlsafe_b64encode(b'{"at":"x","id":1}').decode(),
    base64.urlsafe_b64encode(b'{"seq":"x","after":[1]}').decode(), "%ZZ",
]
# A JSON value or raw JSON text (wrapped in Raw) put in place of one field.
class Raw(str):
    pass


HOSTILE_VALUES: list[Any] = [
    None, True, 0, -1, 2**64, -(2**63) - 1, Raw("1" + "0" * 400), Raw("1e999"), Raw("-1e999"), Raw("NaN"),
    1e308, -0.0, 0.5, "", "x" * 100_000, "\x00", "a\x00b", "\ud800", "沈阳😀", "../../etc/passwd",
    "'; DROP TABLE people; --", [], [None], {}, {"a": {"b": {"c": []}}}, "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00", "9999-12-31", "0001-01-01", "2026-02-30", "2026-11-26T10:00:00",
    "2026-11-26T10:00:00Z", str(uuid.UUID(int=0)), str(uuid.uuid4()), "not-a-uuid", [str(uuid.uuid4())] * 3,
    ["x" * 1000] * 100, {"lon": 1e308, "lat": -1e308, "crs": "wgs84", "accuracy_m": -1},
    {"lon": 181, "lat": 91}, {"lon": 123.43, "lat": 41.80, "crs": "gcj02", "accuracy_m": 1e308},
]
# Tried on every field: NUL (PostgreSQL text refuses it), 64-bit overflow, a 100k-char string.
MUST_VALUES: list[Any] = ["a\x00b", 2**64, "x" * 100_000]
RAW_BODIES: list[bytes] = [
    b"", b"{not json", b"[]", b"null", b"{}", b"0", b'"x"', b"true", b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000, b'{"x": "' + b"y" * 100_000 + b'"}', b'{"id": 18446744073709551616}',
    b'{"id": 1' + b"0" * 400 + b"}", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}',
    b"\xff\xfe\x00", b'{"a": "\\ud800"}', b'{"a": 1}{"b": 2}', b'{"id": 1, "id": "x"}', b'\xef\xbb\xbf{}', b'{"id": "' + b"\x00" * 10 + b'"}',
]


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _valid(schema: dict[str, Any], components: dict[str, Any], rnd: random.Random, name: str = "",
           depth: int = 0) -> Any:
    """A plausible value for `schema` (sensible enough to get past msgspec most of the time)."""
    schema = _resolve(schema, components)
    if depth > 6:
        return None
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, components).get("type") != "null"] or schema[key]
            return _valid(rnd.choice(options), components, rnd, name, depth + 1)
    if "enum" in schema:
        return rnd.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {k: _valid(v, components, rnd, k, depth + 1) for k, v in props.items()
                if k in required or rnd.random() < 0.5}
    if typ == "array":
        item = schema.get("items", {})
        return [_valid(item, components, rnd, name, depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
    if typ == "string":
        fmt = schema.get("format")
        now = datetime.now(UTC)
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return (now + timedelta(minutes=5)).isoformat()
        if fmt == "date":
            return now.date().isoformat()
        if name == "credit_code":
            return credit_code()
        if name == "agency_code":
            return "210100"
        if name == "id_number":
            return "21010219900307001X"
        return "x" * max(1, schema.get("minLength", 1))
    if typ == "integer":
        return int(schema.get("minimum", 1))
    if typ == "number":
        return float(schema.get("minimum", 1.0))
    if typ == "boolean":
        return True
    return None


def _known_bodies(clock: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Bodies that succeed (or nearly), so one hostile field reaches the service and the database."""
    now = clock.now()
    pos = position(5, 5)
    today = now.date().isoformat()
    return {
        ("post", "/api/v1/auth/token"): {"username": "sy.officer1", "password": "wrong-password"},
        ("post", "/api/v1/people"): {"name": "张三", "id_number": make_id_number("21010219900307001"),
                                     "phone": "13800000000", "agency_code": "210100",
                                     "role": "technical_inspector", "employment": "full_time", "username": "fuzz.user", "password": "pw-123456789"},
        ("post", "/api/v1/inspections"): inspection_body(clock),
        ("post", "/api/v1/inspections/{inspection_id}/findings"): {
            "description": "d", "hazard_level": "general", "position": pos},
        ("post", "/api/v1/inspections/{inspection_id}/check-ins"): {"position": pos, "at": at(clock)},
        ("post", "/api/v1/inspections/{inspection_id}/check-outs"): {"position": pos, "at": at(clock)},
        ("post", "/api/v1/inspections/{inspection_id}/documents"): {
            "type": "on_site_inspection_record", "content": {"text": "x", "items": [1, 2]}},
        ("put", "/api/v1/documents/{document_id}"): {"content": {"text": "y"}},
        ("post", "/api/v1/incidents"): {"kind": "threat", "victim": "self", "position": pos,
                                        "occurred_at": (now - timedelta(hours=1)).isoformat(), "description": "d"},
        ("post", "/api/v1/incidents/{incident_id}/actions"): {"note": "n", "at": now.isoformat()},
        ("post", "/api/v1/incidents/{incident_id}/police-notifications"): {
            "police_unit": "u", "notified_at": now.isoformat(), "case_number": "c", "contact": "x"},
        ("post", "/api/v1/supervision/submissions"): {"kind": "opinion", "agency_code": "210100", "subject": "s",
                                                      "body": "b", "position": pos},
        ("post", "/api/v1/supervision/submissions/{submission_id}/feedback"): {"text": "t", "outcome": "o"},
        ("post", "/api/v1/recruitments"): {"agency_code": "210100", "posts": 1, "written_weight": 0.7},
        ("post", "/api/v1/recruitments/{recruitment_id}/candidates"): {"name": "n", "written": 80, "interview": 70},
        ("post", "/api/v1/people/{person_id}/trainings"): {"kind": "rotation", "start_date": today, "days": 3},
        ("post", "/api/v1/people/{person_id}/qualifications"): {
            "kind": "degree", "level": "bachelor", "field": "safety", "safety_related": True},
        ("post", "/api/v1/verify"): {"qr_text": "http://testserver.local/v/abc.def.ghi"},
        ("post", "/api/v1/sync"): {"device_id": "dev", "ops": [{
            "op_id": str(uuid.uuid4()), "method": "POST", "path": "/api/v1/inspections",
            "body": inspection_body(clock), "recorded_at": now.isoformat()}]},
    }


def _dumps(body: Any) -> bytes:
    """json.dumps that splices Raw values in as raw JSON text."""
    raws: dict[str, str] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, Raw):
            marker = f"@@RAW{len(raws)}@@"
            raws[marker] = str(v)
            return marker
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(body), ensure_ascii=True, allow_nan=True)
    for marker, raw in raws.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode()


def _field_paths(body: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if depth > 3:
        return out
    if isinstance(body, dict):
        for k, v in body.items():
            out.append((*prefix, k))
            out.extend(_field_paths(v, (*prefix, k), depth + 1))
    elif isinstance(body, list) and body:
        out.append((*prefix, 0))
        out.extend(_field_paths(body[0], (*prefix, 0), depth + 1))
    return out


def _replace(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


class Checker:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.failures: list[str] = []
        self.count = 0

    async def send(self, method: str, url: str, *, route: str, headers: dict[str, str] | None = None,
                   content: bytes | None = None, what: str = "") -> Any:
        self.count += 1
        # Non-ASCII header values go out as raw UTF-8 bytes (httpx would refuse to encode them).
        raw_headers = {k: (v.encode() if isinstance(v, str) and not v.isascii() else v)
                       for k, v in (headers or {}).items()}
        try:
            r = await self.client.request(method.upper(), url, headers=raw_headers, content=content)
        except Exception as exc:  # the client raising means the app crashed mid-response
            self.failures.append(f"{method.upper()} {url[:200]} [{what}]: client raised {exc!r}")
            return None
        self.check(r, method, url, route, what)
        return r

    def check(self, r: Any, method: str, url: str, route: str, what: str) -> None:
        where = f"{method.upper()} {url[:160]} [{what[:120]}]"
        if r.status_code >= 500:
            self.failures.append(f"{where}: {r.status_code} {r.text[:300]}")
            return
        if r.status_code < 400:
            return
        ctype = r.headers.get("content-type", "")
        if "json" not in ctype:
            if not EXEMPT_BODY.search(route):
                self.failures.append(f"{where}: {r.status_code} non-JSON error body ({ctype}) {r.text[:200]}")
            return
        try:
            body = r.json()
        except ValueError:
            self.failures.append(f"{where}: {r.status_code} unparsable JSON error body {r.text[:200]}")
            return
        if not isinstance(body, dict) or set(body) != ERROR_KEYS or body.get("status") != r.status_code:
            self.failures.append(f"{where}: {r.status_code} error body not per API.md: {r.text[:300]}")
            return
        if not isinstance(body["detail"], dict) or not isinstance(body["code"], str):
            self.failures.append(f"{where}: {r.status_code} error body has wrong types: {r.text[:300]}")

    def assert_clean(self) -> None:
        report = os.environ.get("FIELDCHECK_FUZZ_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as out:
                out.write("\n".join(self.failures) + "\n")
        assert not self.failures, f"{len(self.failures)} bad answers of {self.count}:\n" + "\n".join(
            self.failures[:60])


async def _schema(client: Any) -> dict[str, Any]:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


async def _real_ids(client: Any, token_for: Any, clock: Any) -> dict[str, list[str]]:
    """Ids of real objects so the battery reaches past the 404 of an unknown id."""
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    ids: dict[str, list[str]] = {
        "person_id": [str(demo_id(u)) for u in ("sy.inspector.ft", "sy.officer1", "sy.supervisor")],
        "inspection_id": [ins["id"]],
    }
    doc = await flow.document(ins["id"])
    if doc.status_code in (200, 201):
        ids["document_id"] = [doc.json()["id"]]
    sup = token_for("sy.supervisor")
    r = await client.post("/api/v1/supervision/submissions", headers=sup, json={
        "kind": "opinion", "agency_code": "210100", "subject": "s", "body": "b"})
    if r.status_code in (200, 201):
        ids["submission_id"] = [r.json()["id"]]
    r = await client.post("/api/v1/incidents", headers=token_for("sy.inspector.ft"), json={
        "kind": "threat", "victim": "self", "occurred_at": clock.now().isoformat(), "description": "d"})
    if r.status_code in (200, 201):
        ids["incident_id"] = [r.json()["id"]]
    r = await client.get("/api/v1/credentials", headers=token_for("ln.hr"),
                         params={"person_id": str(demo_id("sy.inspector.ft"))})
    if r.status_code == 200 and r.json()["items"]:
        ids["credential_id"] = [r.json()["items"][0]["id"]]
    r = await client.get("/api/v1/notifications", headers=token_for("sy.admin"))
    if r.status_code == 200 and r.json()["items"]:
        ids["notification_id"] = [r.json()["items"][0]["id"]]
    r = await client.post("/api/v1/recruitments", headers=token_for("sy.hr"), json={
        "agency_code": "210100", "posts": 1, "written_weight": 0.7})
    if r.status_code in (200, 201):
        ids["recruitment_id"] = [r.json()["id"]]
    return ids


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in sorted(schema["paths"].items())
            for method, op in sorted(ops.items()) if method in METHODS]


def _fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: params.get(m.group(1), str(uuid.uuid4())), path)


def _headers(token_for: Any, who: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    h = dict(token_for(who)) if who else {}
    h.update(extra or {})
    return h


async def test_every_route_survives_hostile_input(client, token_for, clock):
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rnd = random.Random(SEED)
    schema = await _schema(client)
    components = schema.get("components", {}).get("schemas", {})
    ids = await _real_ids(client, token_for, clock)
    check = Checker(client)
    json_ct = {"Content-Type": "application/json"}
    known = _known_bodies(clock)

    for path, method, op in _operations(schema):
        if path.startswith("/schema"):
            continue
        path_names = re.findall(r"\{([^}]+)\}", path)
        real = {n: rnd.choice(ids.get(n, [str(uuid.uuid4())])) for n in path_names}
        query_params = [p for p in op.get("parameters", []) if p.get("in") == "query"]

        # 1. Path parameters: junk in each, every role once.
        for name in path_names:
            for junk in [*rnd.sample(PATH_JUNK, 5), "a%00b", str(uuid.uuid4())]:
                url = _fill(path, {**real, name: junk})
                who = rnd.choice(ROLES)
                body = b"{}" if method in ("post", "put") else None
                await check.send(method, url, route=path, headers=_headers(token_for, who, json_ct),
                                 content=body, what=f"path {name}={junk[:30]} as {who}")

        url = _fill(path, real)
        # 2. Query parameters: junk values, several at once too.
        for p in query_params:
            sample = QUERY_JUNK if os.environ.get("FIELDCHECK_FUZZ_FULL") else rnd.sample(QUERY_JUNK, 4)
            for junk in [*sample, "a\x00b"]:
                who = rnd.choice(ROLES)
                r_url = url + "?" + _qs({p["name"]: junk})
                await check.send(method, r_url, route=path, headers=_headers(token_for, who),
                                 content=b"{}" if method == "post" else None,
                                 what=f"query {p['name']}={junk[:30]!r} as {who}")
        if query_params:
            qs = _qs({p["name"]: rnd.choice(QUERY_JUNK) for p in query_params} | {"limit": "-5", "zzz": "1"})
            await check.send(method, f"{url}?{qs}", route=path, headers=_headers(token_for, "sy.admin"),
                             what="all query params junk")
            qs = _qs({"limit": "5", "cursor": rnd.choice(QUERY_JUNK[18:])})
            await check.send(method, f"{url}?{qs}", route=path, headers=_headers(token_for, "sy.officer1"),
                             what="junk cursor")

        # 3. Roles with no body at all.
        for who in ROLES:
            await check.send(method, url, route=path, headers=_headers(token_for, who), what=f"no body as {who}")

        if method not in ("post", "put", "patch"):
            continue
        content = op.get("requestBody", {}).get("content", {})
        if "multipart/form-data" in content:
            continue  # evidence uploads: see test_evidence_upload_hostile
        body_schema = content.get("application/json", {}).get("schema")

        # 4. Raw hostile bodies and wrong content types.
        for raw in RAW_BODIES:
            who = rnd.choice(ROLES[:-1])
            await check.send(method, url, route=path, headers=_headers(token_for, who, json_ct), content=raw,
                             what=f"raw {raw[:30]!r} as {who}")
        for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x",
                      "application/x-www-form-urlencoded", "application/json; charset=latin-1", "image/png"):
            await check.send(method, url, route=path,
                             headers=_headers(token_for, rnd.choice(ROLES[:-1]), {"Content-Type": ctype}),
                             content=b'{"a": 1}', what=f"content-type {ctype}")
        if body_schema is None:
            continue

        # 5. A plausible body, then one field at a time made hostile; unknown fields.
        valid = known.get((method, path)) or _valid(body_schema, components, rnd)
        best_role = await _best_role(check, method, url, path, token_for, valid)
        await check.send(method, url, route=path, headers=_headers(token_for, best_role, json_ct),
                         content=_dumps({**valid, "zz_unknown": 1} if isinstance(valid, dict) else valid),
                         what="unknown field")
        fields = _field_paths(valid)
        for fpath in fields:
            sample = HOSTILE_VALUES if os.environ.get("FIELDCHECK_FUZZ_FULL") else rnd.sample(HOSTILE_VALUES, 5)
            for value in [*MUST_VALUES, *sample]:
                body = _replace(valid, fpath, value)
                await check.send(method, url, route=path,
                                 headers=_headers(token_for, best_role, json_ct), content=_dumps(body),
                                 what=f"{'.'.join(map(str, fpath))}={str(value)[:40]!r} as {best_role}")
        # The same client id / Idempotency-Key with different bodies: a replay, never a 500.
        key: dict[str, Any] = {"Idempotency-Key": ("k" * 300 + "沈").encode()}
        for value in rnd.sample(HOSTILE_VALUES, 3):
            body = _replace(valid, fields[0], value) if fields else valid
            await check.send(method, url, route=path, headers=_headers(token_for, best_role, {**json_ct, **key}),
                             content=_dumps(body), what=f"idempotency replay {str(value)[:30]!r}")

    check.assert_clean()


async def _best_role(check: Checker, method: str, url: str, path: str, token_for: Any, body: Any) -> str:
    """The role that gets furthest with a plausible body (not 401/403), so mutations reach the service."""
    best, best_rank = "sy.officer1", -1
    for who in ROLES[:-1]:
        r = await check.send(method, url, route=path, headers=_headers(token_for, who, {"Content-Type": "application/json"}),
                             content=_dumps(body), what=f"plausible body as {who}")
        if r is None:
            continue
        rank = 0 if r.status_code in (401, 403, 404) else (1 if r.status_code == 422 else 2)
        if rank > best_rank:
            best, best_rank = who, rank
    return best


def _qs(params: dict[str, str]) -> str:
    from urllib.parse import urlencode
    return urlencode(params)


async def test_unknown_routes_and_wrong_methods(client, token_for):
    schema = await _schema(client)
    check = Checker(client)
    h = token_for("sy.admin")
    for path, ops in schema["paths"].items():
        url = _fill(path, {})
        for method in ("get", "post", "put", "patch", "delete"):
            if method in ops:
                continue
            r = await check.send(method, url, route="", headers={**h, "Content-Type": "application/json"},
                                 content=b"{}", what="wrong method")
            if r is not None and not (path.startswith(("/schema", "/v/"))):
                assert r.status_code in (404, 405), (method, path, r.status_code, r.text)
    for url in ("/api/v1/nope", "/api/v1/people/x/y/z", "/api/v2/people", "/" + "a" * 5000, "/api/v1/%00",
                "/api/v1/../../etc/passwd", "/api/v1/people/%E6%B2%88"):
        for method in ("get", "post"):
            r = await check.send(method, url, route="", headers=h, what="unknown route")
            assert r is None or r.status_code in (400, 404, 405), (url, r.status_code)
    r = await client.delete("/api/v1/people", headers=h)
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED" and set(r.json()) == ERROR_KEYS
    r = await client.get("/api/v1/does-not-exist", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND" and set(r.json()) == ERROR_KEYS
    check.assert_clean()


def _forged_tokens(keys_dir: Any, settings: Any) -> dict[str, str]:
    keys = Keys(keys_dir).load()
    now = datetime.now(UTC)
    ring = keys.access
    good = issue_access_token(ring, person_id=demo_id("sy.officer1"), role="officer", issuer=settings.origin,
                              now=now, ttl_s=600)
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    kid = jwt.get_unverified_header(good)["kid"]
    return {
        "expired": issue_access_token(ring, person_id=demo_id("sy.officer1"), role="officer",
                                      issuer=settings.origin, now=now - timedelta(days=2), ttl_s=600),
        "unknown person": issue_access_token(ring, person_id=uuid.uuid4(), role="officer",
                                             issuer=settings.origin, now=now, ttl_s=600),
        "wrong issuer": issue_access_token(ring, person_id=demo_id("sy.officer1"), role="officer",
                                           issuer="https://evil.example", now=now, ttl_s=600),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none kid": f"{b64({'alg': 'none', 'kid': kid})}.{payload}.",
        "hs256": jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": kid}),
        "unknown kid": f"{b64({'alg': 'EdDSA', 'kid': 'nope'})}.{payload}.{sig}",
        "kid not a string": f"{b64({'alg': 'EdDSA', 'kid': {'a': 1}})}.{payload}.{sig}",
        "kid list": f"{b64({'alg': 'EdDSA', 'kid': [kid]})}.{payload}.{sig}",
        "tampered payload": f"{head}.{b64({**claims, 'sub': str(demo_id('ln.hr'))})}.{sig}",
        "sub not uuid": f"{head}.{b64({**claims, 'sub': 'x'})}.{sig}",
        "sub int": f"{head}.{b64({**claims, 'sub': 12345})}.{sig}",
        "exp huge": f"{head}.{b64({**claims, 'exp': 10**30})}.{sig}",
        "exp string": f"{head}.{b64({**claims, 'exp': 'soon'})}.{sig}",
        "header not json": f"{base64.urlsafe_b64encode(b'{x').decode()}.{payload}.{sig}",
        "header array": f"{b64([1, 2])}.{payload}.{sig}",
        "payload not b64": f"{head}.!!!.{sig}",
        "two parts": f"{head}.{payload}",
        "garbage": "garbage",
        "huge": "a" * 20_000,
        "unicode": "令牌.令牌.令牌",
        "dots": "...",
        "sig junk": f"{head}.{payload}.{'A' * 86}",
    }


async def test_forged_and_expired_tokens(client, keys_dir, settings):
    schema = await _schema(client)
    check = Checker(client)
    tokens = _forged_tokens(keys_dir, settings)
    rnd = random.Random(SEED)
    protected = ["/api/v1/me", "/api/v1/people", "/api/v1/inspections", "/api/v1/audit", "/api/v1/notifications"]
    headers_variants = [{"Authorization": f"Bearer {t}"} for t in tokens.values()] + [
        {"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "bearer\t" + tokens["garbage"]}, {"Authorization": "Bearer a b c"},
        {"Authorization": "Bearer " + "\u00e9" * 50}, {"Authorization": "x" * 10_000},
    ]
    for url in protected:
        for h in headers_variants:
            r = await check.send("get", url, route=url, headers=h, what=f"token {h['Authorization'][:40]!r}")
            if r is not None:
                assert r.status_code == 401, (url, h["Authorization"][:60], r.status_code, r.text)
                assert r.json()["code"] == "UNAUTHENTICATED"
    # Forged credential tokens at the public verifiers (QR page, POST and GET verify).
    for name, tok in tokens.items():
        await check.send("get", f"/v/{tok}", route="/v/", what=f"verify page {name}")
        await check.send("post", "/api/v1/verify", route="/api/v1/verify", headers={"Content-Type": "application/json"},
                         content=_dumps({"qr_text": f"http://testserver.local/v/{tok}"}), what=f"verify {name}")
        await check.send("get", "/api/v1/verify?" + _qs({"number": tok}), route="/api/v1/verify",
                         what=f"verify number {name}")
    # Every other route with a sample of forged tokens.
    for path, method, _ in _operations(schema):
        if path.startswith("/schema"):
            continue
        for name in rnd.sample(sorted(tokens), 3):
            await check.send(method, _fill(path, {}), route=path,
                             headers={"Authorization": f"Bearer {tokens[name]}", "Content-Type": "application/json"},
                             content=b"{}" if method != "get" else None, what=f"forged {name}")
    check.assert_clean()


async def test_oversize_body_is_413(client, token_for, settings):
    check = Checker(client)
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    for url in ("/api/v1/people", "/api/v1/inspections", "/api/v1/sync", "/api/v1/verify", "/api/v1/auth/token"):
        r = await check.send("post", url, route=url, headers={**token_for("sy.hr"), "Content-Type": "application/json"},
                             content=big, what="oversize")
        assert r is not None and r.status_code == 413, (url, r.status_code if r else None)
        assert r.json()["code"] == "TOO_LARGE"
    check.assert_clean()


async def test_sync_ops_hostile(client, token_for, clock):
    check = Checker(client)
    h = {**token_for("sy.officer1"), "Content-Type": "application/json"}
    rnd = random.Random(SEED)
    op_id = str(uuid.uuid4())
    ops_variants: list[Any] = [
        [{"op_id": op_id, "method": "POST", "path": "/api/v1/inspections", "body": {}, "recorded_at": clock.now().isoformat()}],
        [{"op_id": op_id, "method": "POST", "path": "/api/v1/inspections", "body": {"kind": 1},
          "recorded_at": clock.now().isoformat()}],  # replayed op_id, different body
        [{"op_id": str(uuid.uuid4()), "method": m, "path": p, "body": b, "recorded_at": clock.now().isoformat()}
         for m, p, b in [("GET", "/api/v1/me", {}), ("DELETE", "/api/v1/people", {}),
                         ("POST", "/api/v1/sync", {"device_id": "d", "ops": []}),
                         ("POST", "/../../etc/passwd", {}), ("POST", "/api/v1/" + "a" * 5000, {}),
                         ("PUT", "/api/v1/documents/not-a-uuid", {"content": {}}),
                         ("POST", "/api/v1/inspections/%00/findings", {}),
                         ("POST", "/api/v1/people", None), ("POST", "/api/v1/people", []),
                         ("POST", "/api/v1/incidents", {"kind": "threat", "victim": "self",
                                                        "occurred_at": "0001-01-01T00:00:00-14:00",
                                                        "description": "\x00"}),
                         ("POST", "http://evil.example/api/v1/people", {}), ("POST", "", {}),
                         ("POST", "/healthz", {}), ("POST", "/api/v1/auth/token", {"username": "a", "password": "b"})]],
    ]
    for ops in ops_variants:
        await check.send("post", "/api/v1/sync", route="/api/v1/sync", headers=h,
                         content=_dumps({"device_id": "dev-1", "ops": ops}), what=f"sync {str(ops)[:60]}")
    for value in HOSTILE_VALUES:
        for field in ("op_id", "method", "path", "body", "recorded_at"):
            if rnd.random() < 0.5:
                continue
            op = {"op_id": str(uuid.uuid4()), "method": "POST", "path": "/api/v1/inspections", "body": {},
                  "recorded_at": clock.now().isoformat(), field: value}
            await check.send("post", "/api/v1/sync", route="/api/v1/sync", headers=h,
                             content=_dumps({"device_id": "dev-1", "ops": [op]}), what=f"sync op {field}={str(value)[:30]!r}")
        await check.send("post", "/api/v1/sync", route="/api/v1/sync", headers=h,
                         content=_dumps({"device_id": value, "ops": []}), what=f"device_id={str(value)[:30]!r}")
    many = [{"op_id": str(uuid.uuid4()), "method": "GET", "path": "/api/v1/me", "body": {},
             "recorded_at": clock.now().isoformat()}] * 501
    await check.send("post", "/api/v1/sync", route="/api/v1/sync", headers=h,
                     content=_dumps({"device_id": "dev-1", "ops": many}), what="501 ops")
    check.assert_clean()


async def test_evidence_upload_hostile(client, token_for, clock):
    import hashlib
    import io

    from PIL import Image

    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    url = f"/api/v1/inspections/{ins['id']}/evidence"
    h = token_for("sy.officer1")
    check = Checker(client)
    png = io.BytesIO()
    Image.new("RGB", (10, 10), (200, 0, 0)).save(png, "PNG")
    good = png.getvalue()
    jpg = io.BytesIO()
    Image.new("RGB", (10, 10), (200, 0, 0)).save(jpg, "JPEG")
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")
    files = {
        "text": (b"hello", "text/plain"),
        "empty": (b"", "image/jpeg"),
        "truncated png": (good[:40], "image/png"),
        "truncated jpeg": (jpg.getvalue()[:60], "image/jpeg"),
        "jpeg header only": (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "image/jpeg"),
        "png magic garbage": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png"),
        "heic-ish": (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "image/heic"),
        "gif": (b"GIF89a" + b"\x00" * 50, "image/gif"),
        "svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        "pixel bomb": (bomb.getvalue(), "image/png"),
        "good png as jpeg": (good, "image/jpeg"),
    }
    forms: list[dict[str, str]] = [
        {"captured_at": clock.now().isoformat(), "lon": "123.4315", "lat": "41.8057", "crs": "wgs84",
         "accuracy_m": "8"},
        {"captured_at": "yesterday", "lon": "east", "lat": "1e999", "crs": "bd09", "accuracy_m": "-1"},
        {"captured_at": "0001-01-01T00:00:00-14:00", "lon": "NaN", "lat": "Infinity", "accuracy_m": "1" + "0" * 400},
        {"id": "not-a-uuid", "note": "x" * 100_000, "captured_at": clock.now().isoformat()},
        {"note": "a\x00b", "crs": "wgs84\x00", "captured_at": clock.now().isoformat(), "lon": "123.4315",
         "lat": "41.8057"},
        {},
    ]
    for name, (data, ctype) in files.items():
        for form in forms[:2] if name != "pixel bomb" else forms[:1]:
            fields = {**form, "sha256": hashlib.sha256(data).hexdigest()}
            r = await client.post(url, headers=h, files={"file": ("p", data, ctype)}, data=fields)
            check.check(r, "post", url, "/evidence", f"upload {name} {list(form)[:2]}")
    for form in forms:
        r = await client.post(url, headers=h, files={"file": ("p.png", good, "image/png")},
                              data={**form, "sha256": rnd_hex(form)})
        check.check(r, "post", url, "/evidence", f"form {str(form)[:60]}")
    # A good photo whose text fields carry NUL (PostgreSQL text refuses it): a 4xx, not a 500.
    nul_form = {"note": "a\x00b", "captured_at": clock.now().isoformat(), "lon": "123.4315", "lat": "41.8057",
                "crs": "wgs84", "accuracy_m": "8", "sha256": hashlib.sha256(jpg.getvalue()).hexdigest()}
    r = await client.post(url, headers=h, files={"file": ("p.jpg", jpg.getvalue(), "image/jpeg")}, data=nul_form)
    check.check(r, "post", url, "/evidence", "NUL in note")
    # No file part at all; a JSON body instead of multipart.
    r = await client.post(url, headers=h, data={"sha256": "00"})
    check.check(r, "post", url, "/evidence", "no file")
    r = await client.post(url, headers=h, json={"file": "x"})
    check.check(r, "post", url, "/evidence", "json instead of multipart")
    check.assert_clean()


def rnd_hex(form: dict[str, str]) -> str:
    return "z" * 64 if not form else "0" * 64


async def test_internal_error_body_and_log(client, app, token_for, caplog):
    """A 500 (forced here) has the API.md body with code INTERNAL_ERROR and the request id, and the
    log line carries the request id but not the Authorization header or a password."""
    from litestar import post

    class Boom(Exception):
        pass

    @post("/api/v1/__boom", exclude_from_auth=True, sync_to_thread=False)
    def boom(data: dict[str, Any]) -> None:
        raise Boom("kaboom")

    app.register(boom)
    h = {**token_for("sy.officer1"), "Content-Type": "application/json"}
    secret = "hunter2-secret-password"
    with caplog.at_level(logging.ERROR):
        r = await client.post("/api/v1/__boom", headers=h, content=_dumps({"password": secret}))
    assert r.status_code == 500
    body = r.json()
    assert set(body) == ERROR_KEYS and body["code"] == "INTERNAL_ERROR" and body["status"] == 500
    request_id = body["detail"]["request_id"]
    assert request_id and r.headers.get("x-request-id") == request_id
    assert "kaboom" not in r.text
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "fieldcheck.http"]
    assert any(request_id in line for line in lines), lines
    token = h["Authorization"].split()[1]
    assert token not in caplog.text and secret not in caplog.text

    # A database error's log line carries the SQL but never its bound parameters.
    from sqlalchemy.exc import IntegrityError

    @post("/api/v1/__dbboom", exclude_from_auth=True, sync_to_thread=False)
    def dbboom(data: dict[str, Any]) -> None:
        raise IntegrityError("INSERT INTO people (password_hash) VALUES (?)", (data["password"],),
                             Exception("constraint failed"))

    app.register(dbboom)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        r = await client.post("/api/v1/__dbboom", headers=h, content=_dumps({"password": secret}))
    assert r.status_code == 500 and r.json()["code"] == "INTERNAL_ERROR"
    assert r.json()["detail"]["request_id"] in caplog.text
    assert "INSERT INTO people" in caplog.text and secret not in caplog.text and token not in caplog.text


async def test_client_id_of_an_existing_object_is_a_conflict(client, token_for, clock):
    """A client id naming an object that was created without it (so with no idempotency record)
    collides on the primary key: 409 ID_CONFLICT, not a 500 (found by schemathesis)."""
    hr = token_for("sy.hr")
    url = f"/api/v1/people/{demo_id('sy.inspector.ft')}/trainings"
    body = {"kind": "rotation", "start_date": clock.today().isoformat(), "days": 2}
    first = await client.post(url, headers=hr, json=body)
    assert first.status_code == 201, first.text
    r = await client.post(url, headers=hr, json={**body, "days": 3, "id": first.json()["id"]})
    assert r.status_code == 409 and r.json()["code"] == "ID_CONFLICT" and set(r.json()) == ERROR_KEYS
    officer = token_for("sy.officer1")
    ins = await client.post("/api/v1/inspections", headers=officer, json=inspection_body(clock))
    assert ins.status_code == 201, ins.text
    r = await client.post("/api/v1/inspections", headers=officer,
                          json={**inspection_body(clock), "id": ins.json()["id"]})
    assert r.status_code == 409 and r.json()["code"] == "ID_CONFLICT", r.text
