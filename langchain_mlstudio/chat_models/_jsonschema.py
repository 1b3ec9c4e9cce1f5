"""Check a JSON value against a JSON schema (the subset schemas for LLM output use).

Runtime dependencies stay ``langchain-core``, ``httpx`` and ``pydantic``, so
this is a small validator of its own. It understands ``type`` (one or a
list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties``, ``items`` / ``prefixItems``, ``minItems`` /
``maxItems``, ``minLength`` / ``maxLength``, ``pattern``, ``minimum`` /
``maximum`` / ``exclusiveMinimum`` / ``exclusiveMaximum``, ``anyOf`` /
``oneOf`` / ``allOf`` and local ``$ref`` into ``$defs`` / ``definitions``;
other keywords (``format``, ``title``, ``description`` ...) are ignored, as
JSON Schema allows. Errors name the path and the rule, never the value, so
they can go back to the model (and into logs) safely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["resolve_ref", "schema_errors"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/Name``) to the schema it names.

    Example:
        >>> root = {"$defs": {"N": {"type": "integer"}}}
        >>> resolve_ref({"$ref": "#/$defs/N"}, root)
        {'type': 'integer'}
    """
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            if not isinstance(target, Mapping):
                return {}
        schema = target
        seen += 1
    return schema


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds = _TYPES.get(name)
    return kinds is None or isinstance(value, kinds)


def _where(path: str) -> str:
    return path or "<root>"


def schema_errors(
    value: Any,
    schema: Mapping[str, Any],
    *,
    root: Mapping[str, Any] | None = None,
    path: str = "",
    limit: int = 8,
) -> list[str]:
    """Every rule of ``schema`` that ``value`` breaks, as ``"path: rule"`` lines.

    Example:
        >>> schema = {"type": "object", "properties": {"n": {"type": "integer"}},
        ...           "required": ["n", "m"]}
        >>> schema_errors({"n": "x"}, schema)
        ['m: Field required', 'n: should be of type integer']
        >>> schema_errors({"n": 1, "m": None}, schema)
        []
    """
    root = schema if root is None else root
    schema = resolve_ref(schema, root)
    errors: list[str] = []
    _check(value, schema, root, path, errors)
    return errors[:limit]


def _check(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    schema = resolve_ref(schema, root)
    if schema is True or not schema:
        return
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_type(value, name) for name in names):
            errors.append(f"{_where(path)}: should be of type {' or '.join(names)}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{_where(path)}: should be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"][:10])
        errors.append(f"{_where(path)}: should be one of {allowed}")
    _check_combinators(value, schema, root, path, errors)
    if isinstance(value, dict):
        _check_object(value, schema, root, path, errors)
    elif isinstance(value, list):
        _check_array(value, schema, root, path, errors)
    elif isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)


def _check_combinators(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    for sub in schema.get("allOf", ()):
        _check(value, sub, root, path, errors)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if options and not any(
            not schema_errors(value, option, root=root, path=path) for option in options
        ):
            errors.append(f"{_where(path)}: matches none of the allowed shapes ({keyword})")


def _check_object(
    value: dict[str, Any],
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
    errors: list[str],
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    prefix = f"{path}." if path else ""
    for name in sorted(schema.get("required", ())):
        if name not in value:
            errors.append(f"{prefix}{name}: Field required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], root, f"{prefix}{name}", errors)
        elif extra is False:
            errors.append(f"{prefix}{name}: Extra field not permitted")
        elif isinstance(extra, Mapping):
            _check(item, extra, root, f"{prefix}{name}", errors)


def _check_array(
    value: list[Any],
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
    errors: list[str],
) -> None:
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{_where(path)}: should have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{_where(path)}: should have at most {schema['maxItems']} items")
    prefix_items = schema.get("prefixItems", [])
    for index, item in enumerate(value):
        if index < len(prefix_items):
            _check(item, prefix_items[index], root, f"{path}[{index}]", errors)
        elif isinstance(schema.get("items"), Mapping):
            _check(item, schema["items"], root, f"{path}[{index}]", errors)


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if len(value) < schema.get("minLength", 0):
        errors.append(f"{_where(path)}: should have at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{_where(path)}: should have at most {schema['maxLength']} characters")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                errors.append(f"{_where(path)}: should match the pattern {pattern!r}")
        except re.error:
            pass  # a pattern Python cannot read is not the model's fault


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    bounds = (
        ("minimum", lambda v, b: v >= b, ">="),
        ("maximum", lambda v, b: v <= b, "<="),
        ("exclusiveMinimum", lambda v, b: v > b, ">"),
        ("exclusiveMaximum", lambda v, b: v < b, "<"),
    )
    for keyword, holds, sign in bounds:
        bound = schema.get(keyword)
        if (
            isinstance(bound, int | float)
            and not isinstance(bound, bool)
            and not holds(value, bound)
        ):
            errors.append(f"{_where(path)}: should be {sign} {bound}")
