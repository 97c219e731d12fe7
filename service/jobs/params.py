"""Validating a job's params against its kind's Struct, reporting every field's error at once."""

from __future__ import annotations

from typing import Any

import msgspec

from actors.registry import JobKind
from service.errors import BadRequest


def validate_params(kind: JobKind, params: dict[str, Any]) -> msgspec.Struct:
    """Convert ``params`` to the kind's Struct or raise ``BadRequest`` listing each wrong field."""
    try:
        return msgspec.convert(params, kind.params)
    except msgspec.ValidationError as whole:
        errors = field_errors(kind.params, params) or [{"field": "params", "message": str(whole)}]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise BadRequest(
            f"Invalid params for kind {kind.name!r}: {summary}", code="invalid_params", details=errors
        ) from None


def field_errors(struct: type[msgspec.Struct], params: dict[str, Any]) -> list[dict[str, str]]:
    """One error per wrong field (msgspec itself stops at the first)."""
    errors: list[dict[str, str]] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    for name, field in fields.items():
        if name not in params:
            if field.required:
                errors.append({"field": name, "message": "this field is required"})
            continue
        try:
            msgspec.convert(params[name], field.type)
        except msgspec.ValidationError as exc:
            errors.append({"field": name, "message": str(exc).replace(" - at `$`", "")})
    if struct.__struct_config__.forbid_unknown_fields:
        errors.extend({"field": name, "message": "unknown field"} for name in params if name not in fields)
    return errors
