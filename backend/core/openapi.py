"""What the generated OpenAPI document does not say by itself, added once after the app is built:
bearer security (on exactly the operations that need a token), the error body of API.md on every
4xx/5xx answer an operation can give (instead of the framework's own 400 body), and the limits of
the list parameters every list shares. A generated client then knows what the server refuses."""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from backend.core.times import ApiStruct

BEARER = "bearerAuth"
ERROR_SCHEMA = "ErrorBody"

ERROR_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["status", "code", "message", "message_zh", "article", "detail"],
    properties={
        "status": Schema(type=OpenAPIType.INTEGER, description="the HTTP status, repeated"),
        "code": Schema(type=OpenAPIType.STRING, description="machine-readable reason, e.g. ART13_ACTING_ALONE"),
        "message": Schema(type=OpenAPIType.STRING, description="English"),
        "message_zh": Schema(type=OpenAPIType.STRING, description="Chinese, for the user"),
        "article": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
                          description="article of the implementing rules the refusal rests on"),
        "detail": Schema(type=OpenAPIType.OBJECT, description="VALIDATION_ERROR: {errors: [{field, code, message}]}",
                         additional_properties=True),
    },
    examples=[{"status": 409, "code": "ART13_ACTING_ALONE",
               "message": "A technical inspector may act only in an inspection in progress with at least two "
                          "officers present",
               "message_zh": "技术检查员不得单独执法：须在检查进行中且至少两名行政执法人员在场",
               "article": "13", "detail": {"status": "planned", "officers_present": 0, "required": 2}}],
)

_DESCRIPTIONS = {
    "400": "Bad request (malformed JSON, MALFORMED_CREDENTIAL, INVALID_CURSOR, ...)",
    "401": "UNAUTHENTICATED: no, expired or invalid bearer token",
    "403": "FORBIDDEN: role or jurisdiction (or an article's refusal, e.g. ART13_DECISION_FORBIDDEN)",
    "404": "NOT_FOUND (also what is outside the caller's jurisdiction)",
    "409": "Conflict with the current state (ID_CONFLICT, an article's refusal, ...)",
    "413": "TOO_LARGE",
    "415": "UNSUPPORTED_MEDIA_TYPE: the body must be application/json",
    "422": "VALIDATION_ERROR (detail.errors) or a rule's refusal (NOT_ELIGIBLE, ID_NUMBER_INVALID, ...)",
    "429": "RATE_LIMITED (Retry-After)",
    "503": "SERVICE_UNAVAILABLE: the database is unreachable (Retry-After)",
}


def _error(status: str) -> OpenAPIResponse:
    return OpenAPIResponse(description=_DESCRIPTIONS[status], content={
        "application/json": OpenAPIMediaType(schema=Reference(ref=f"#/components/schemas/{ERROR_SCHEMA}"))})


#: Years whose times stay inside core/times' range [1900, 2200) under any UTC offset; the offset
#: itself is required (a time without one is refused).
DATE_TIME_PATTERN = r"^(19(0[1-9]|[1-9][0-9])|20[0-9]{2}|21([0-8][0-9]|9[0-8]))-.*(Z|z|[+-][0-9]{2}:[0-9]{2})$"
DATE_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
#: Fields whose checks live in code (check characters), described as far as JSON Schema can.
FIELD_SHAPES: dict[str, dict[str, Any]] = {
    "credit_code": {"min_length": 18, "max_length": 18, "pattern": "^[0-9A-Za-z]{18}$",
                    "description": "GB 32100 unified social credit code; check character validated"},
    "id_number": {"min_length": 18, "max_length": 18, "pattern": "^[0-9]{17}[0-9Xx]$",
                  "description": "GB 11643 resident identity number; check character validated"},
}


#: Examples by field name, for request schemas (valid values: check characters included).
FIELD_EXAMPLES: dict[str, Any] = {
    "at": "2026-11-26T09:30:00+08:00", "occurred_at": "2026-11-26T09:30:00+08:00",
    "planned_at": "2026-11-26T09:00:00+08:00", "notified_at": "2026-11-26T10:00:00+08:00",
    "published_at": "2026-12-01T09:00:00+08:00", "recorded_at": "2026-11-26T09:31:00+08:00",
    "start_date": "2026-01-01", "end_date": "2028-12-31", "valid_until": "2029-12-31",
    "effective_date": "2026-12-31", "credit_code": "91210102MA0Y2K3L4J", "id_number": "210102199001010015",
    "agency_code": "210100", "to_agency_code": "210000", "lon": 123.4315, "lat": 41.8057, "accuracy_m": 8.0,
    "crs": "wgs84", "radius_m": 200.0, "number": "LNJ-2026-000017-X", "name": "王五", "phone": "13912345678",
    "address": "沈阳市和平区南京北街1号", "description": "东侧储罐区未设置防火堤",
    "content_sha256": "9f2c1b7e0a4d3c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5968778695a4b3c",
}


def _struct_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    todo: list[type] = [ApiStruct]
    while todo:
        cls = todo.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            found.setdefault(sub.__name__, sub)
            todo.append(sub)
    return found


def _tighten(schema: Any, *, shapes: bool) -> None:
    """Date, date-time and (with `shapes`, for what clients send) known-shape properties of one
    schema, recursing into unions. Responses may mask them (`2101**********123X`)."""
    if not isinstance(schema, Schema):
        return
    for option in [*(schema.one_of or []), *(schema.any_of or [])]:
        _tighten(option, shapes=shapes)
    fmt = getattr(schema.format, "value", schema.format)
    if fmt == "date-time" and schema.pattern is None:
        schema.pattern = DATE_TIME_PATTERN
    elif fmt == "date" and schema.pattern is None:
        schema.pattern = DATE_PATTERN
    for name, prop in (schema.properties or {}).items():
        if shapes and isinstance(prop, Schema) and name in FIELD_SHAPES:
            for key, value in FIELD_SHAPES[name].items():
                setattr(prop, key, value)
        if shapes and isinstance(prop, Schema) and name in FIELD_EXAMPLES and not prop.examples:
            prop.examples = [FIELD_EXAMPLES[name]]
        _tighten(prop, shapes=shapes)
    if isinstance(schema.items, Schema):
        _tighten(schema.items, shapes=shapes)


def _bounds_from_struct(cls: type, schema: Schema) -> None:
    """Constraints the generator drops: a bound of 0 (`ge=0` is falsy, so it never reaches the
    document) and the allowed keys of a dict keyed by a Literal (`consents`)."""
    info = mi.type_info(cls)
    if not isinstance(info, mi.StructType):
        return
    for field in info.fields:
        prop = (schema.properties or {}).get(field.encode_name)
        if not isinstance(prop, Schema):
            continue
        options = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        for option in options:
            if isinstance(option, mi.IntType | mi.FloatType):
                if option.ge is not None and prop.minimum is None:
                    prop.minimum = option.ge
                if option.gt is not None and prop.exclusive_minimum is None:
                    prop.exclusive_minimum = option.gt
                if option.le is not None and prop.maximum is None:
                    prop.maximum = option.le
            elif isinstance(option, mi.DictType) and isinstance(option.key_type, mi.LiteralType):
                prop.property_names = Schema(type=OpenAPIType.STRING, enum=list(option.key_type.values))


def _tighten_components(schemas: dict[str, Any]) -> None:
    """Unknown fields are refused (forbid_unknown_fields): say so with additionalProperties false;
    times and dates carry the range and offset rules of core/times."""
    structs = _struct_classes()
    for key, schema in schemas.items():
        if not isinstance(schema, Schema):
            continue
        cls = structs.get(key) or structs.get(key.rsplit("_", 1)[-1])
        config = getattr(cls, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields and schema.type == OpenAPIType.OBJECT:
            schema.additional_properties = False
        if cls is not None:
            _bounds_from_struct(cls, schema)
        _tighten(schema, shapes=not key.endswith(("Read", "Page")))


def needs_token(handler: Any) -> bool:
    # `ctx` (backend/core/deps.py::provide_ctx) carries the caller's principal for command handlers.
    params = handler.parsed_fn_signature.parameters
    return "principal" in params or "ctx" in params


class _CompletingOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document the first time it is built. Lazily: an
    app that never serves its schema (every test's app) does not pay for building it."""

    __slots__ = ()

    def provide_openapi(self) -> OpenAPI:
        if not self._openapi:
            openapi = self._build_openapi()
            _complete(openapi, self.included_routes.values())
            self._openapi = openapi
        return self._openapi


def complete_openapi(app: Litestar) -> None:
    """Make the app's OpenAPI document say what it lacks (see the module docstring) when built."""
    plugin = app.plugins.get(OpenAPIPlugin)
    # Same slots, one method more: swapping the class keeps the plugin Litestar registered.
    plugin.__class__ = _CompletingOpenAPIPlugin


def _complete(openapi: OpenAPI, routes: Any) -> None:
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = components
    components.security_schemes = {**(components.security_schemes or {}), BEARER: SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT",
        description="Access token from POST /api/v1/auth/token (EdDSA, with kid).")}
    components.schemas = {**(components.schemas or {}), ERROR_SCHEMA: ERROR_BODY}
    _tighten_components(components.schemas)
    for route in routes:
        item = (openapi.paths or {}).get(route.path_format or "/")
        if item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                _complete_operation(getattr(item, method.lower(), None), handler, bool(route.path_parameters))


def _complete_operation(operation: Any, handler: Any, has_path_parameters: bool) -> None:
    if operation is None:
        return
    statuses = ["400", "422", "503"]
    if needs_token(handler):
        operation.security = [{BEARER: []}]
        statuses += ["401", "403"]
    else:
        operation.security = []
        statuses.append("429")
    if has_path_parameters:
        statuses.append("404")
    if handler.parsed_data_field is not None:
        statuses += ["409", "413", "415"]
    responses = dict(operation.responses or {})
    for status in statuses:
        responses[status] = _error(status)
    operation.responses = dict(sorted(responses.items()))
    for parameter in operation.parameters or []:
        if getattr(parameter, "name", None) == "limit" and isinstance(parameter.schema, Schema):
            # clamp_limit (core/http) refuses anything else with 422.
            parameter.schema = Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=500, default=50,
                                      description="page size")
