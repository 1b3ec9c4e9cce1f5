"""One view of every schema ``with_structured_output`` and ``bind_tools`` accept.

Pydantic models (v2 and ``pydantic.v1``) validate with pydantic and come back
as instances; TypedDicts and JSON-schema dicts (plain or in the OpenAI tool
format) validate with :func:`~._jsonschema.schema_errors` and come back as
dicts, as in the partner packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio.chat_models._jsonschema import schema_errors

__all__ = ["InvalidAnswerError", "OutputSchema"]


class InvalidAnswerError(ValueError):
    """An answer that failed to parse or validate; the text goes back to the model."""


def _is_pydantic_v1(schema: Any) -> bool:
    return isinstance(schema, type) and issubclass(schema, pydantic.v1.BaseModel)


def _v1_errors(exc: pydantic.v1.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors()[:5]
    )


@dataclass(frozen=True)
class OutputSchema:
    """A schema as a name, a description, a JSON schema and a validator.

    Example:
        >>> from pydantic import BaseModel
        >>> class Joke(BaseModel):
        ...     '''A joke.'''
        ...     setup: str
        >>> schema = OutputSchema.of(Joke)
        >>> schema.name, schema.validate({"setup": "Why?"})
        ('Joke', Joke(setup='Why?'))
        >>> OutputSchema.of({"title": "T", "type": "object", "required": ["a"]}).validate({})
        Traceback (most recent call last):
        ...
        langchain_mlstudio.chat_models._schemas.InvalidAnswerError: a: Field required
    """

    original: Any
    name: str
    description: str
    parameters: dict[str, Any]

    @classmethod
    def of(cls, schema: Any) -> OutputSchema:
        """Read a pydantic model, TypedDict, JSON-schema dict, tool or function.

        Raises:
            ValueError: ``schema`` is none of these.
        """
        bare = isinstance(schema, Mapping) and schema.get("type") != "function"
        if bare and ("properties" in schema or "type" in schema):  # maybe without a title
            name = str(schema.get("title") or "output")
            return cls(schema, name, str(schema.get("description") or ""), dict(schema))
        tool = convert_to_openai_tool(schema)["function"]
        parameters = dict(tool.get("parameters") or {"type": "object", "properties": {}})
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            parameters = schema.model_json_schema()
        elif _is_pydantic_v1(schema):
            parameters = schema.schema()
        return cls(schema, tool["name"], tool.get("description") or "", parameters)

    @property
    def tool(self) -> dict[str, Any]:
        """The schema as a tool: ``{"name", "description", "parameters"}``."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def validate(self, value: Any) -> Any:
        """The validated value: a model instance for pydantic, else the dict.

        Raises:
            InvalidAnswerError: What is wrong, by field, never quoting values.
        """
        schema = self.original
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            try:
                return schema.model_validate(value)
            except ValidationError as exc:
                raise InvalidAnswerError(describe_validation_error(exc)) from None
        if _is_pydantic_v1(schema):
            try:
                return schema.parse_obj(value)
            except pydantic.v1.ValidationError as exc:
                raise InvalidAnswerError(_v1_errors(exc)) from None
        errors = schema_errors(value, self.parameters)
        if errors:
            raise InvalidAnswerError("; ".join(errors))
        return value
