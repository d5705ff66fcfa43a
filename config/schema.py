"""OpenAPI post-processing: every operation documents the errors it can really answer.

Views document their own refusals where they have something to say (409 on a transition, 429 on
the authority API). The generic ones come from DRF itself and apply to every operation alike:
401 without valid credentials, 403 for a role that may not, 404 for an object the caller may not
see (or a page past the end), 400 for a filter or body that does not validate. They are added
here wherever a view left them out, so a client generated from the document handles them.
"""

from typing import Any

GENERIC = {
    "400": "Invalid filter, page or body: field errors, or ``detail``.",
    "401": "No valid credentials (send ``Authorization: Bearer <token>``).",
    "403": "The caller's role may not do this.",
    "404": "No such object (or page), or not one the caller may see.",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "``detail`` for a refusal; field name to messages for field errors.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}


def _also_parse_errors(response: dict[str, Any] | None) -> None:
    """A 400 documented as field errors can also be DRF's ``{"detail": "JSON parse error"}``."""
    content = (response or {}).get("content", {}).get("application/json")
    if not content or "schema" not in content:
        return
    schema = content["schema"]
    ref = {"$ref": "#/components/schemas/ApiError"}
    if schema != ref and "anyOf" not in schema:
        content["schema"] = {"anyOf": [schema, ref]}


def add_generic_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOK: fill in 400/401/403/404 where they apply."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiError", ERROR_SCHEMA)
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            public = {} in operation.get("security", [{}])
            wanted = set()
            if not public:
                wanted |= {"401", "403"}
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                wanted.add("404")
            if any(p.get("in") == "query" for p in parameters) or "requestBody" in operation:
                wanted.add("400")
            responses = operation["responses"]
            for code in sorted(wanted - set(responses)):
                responses[code] = {"description": GENERIC[code], "content": body}
            _also_parse_errors(responses.get("400"))
    return result
