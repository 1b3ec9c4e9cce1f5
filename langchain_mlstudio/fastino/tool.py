"""``FastinoPIITool``: find and redact personal data, for agents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from langchain_mlstudio.errors import MLStudioError
from langchain_mlstudio.fastino._pipeline import (
    DocumentField,
    entity_dicts,
    plan,
    spans_of_document,
)
from langchain_mlstudio.fastino.offsets import SpanError
from langchain_mlstudio.fastino.results import FastinoResult
from langchain_mlstudio.fastino.settings import FastinoSettings
from langchain_mlstudio.fastino.strategies import redact_token, replace_spans

__all__ = ["FastinoPIIInput", "FastinoPIITool"]


class FastinoPIIInput(BaseModel):
    """Arguments of :class:`FastinoPIITool`.

    Example:
        >>> FastinoPIIInput(text="Call Jamie Derran").entity_types is None
        True
    """

    text: str = Field(description="The text to scan for personal data.")
    entity_types: list[str] | None = Field(
        default=None,
        description=(
            "Kinds of personal data to look for, as free-text labels such as "
            "'full_name', 'email', 'phone_number'. Leave out for the defaults."
        ),
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Minimum confidence (0-1) of a reported entity.",
    )


class FastinoPIITool(FastinoSettings, BaseTool):
    r"""Find personal data in a text with Fastino's PII model and redact it.

    The content an agent sees is the redacted text (``<FULL_NAME>`` for each
    value, as Fastino writes it, and for every other occurrence of a found
    value: exactly what :class:`FastinoPIITransformer` writes with
    ``strategy="redact"``) and a one-line summary of what was found; the
    artifact (``ToolMessage.artifact``) is the list of entities with
    ``label``, ``start``, ``end``, ``score`` and ``text`` (offsets into the
    given text; the values themselves only with ``include_values=True``, so
    callbacks and tracers never record them by default).

    The text is sent exactly as :class:`FastinoPIITransformer` sends it: in
    chunks bounded in characters and words, placeholder-like input
    neutralised, every answer checked against its input.

    Failures (an API error, a wrong key, an answer that does not fit the
    text) and invalid arguments come back as ``ToolMessage(status="error")``
    with what went wrong and what to do, so an agent can react; set
    ``handle_tool_error=False`` (and ``handle_validation_error=False``) to get
    the ``ToolException`` (or ``ValidationError``) raised instead. Nothing
    unredacted is ever returned.

    Args:
        api_key: Fastino key (default: ``FASTINO_API_KEY``).
        base_url: API root (default: ``FASTINO_BASE_URL`` or the public API).
        timeout: Seconds one HTTP request may take.
        max_retries: Retries of transient failures.
        client: A ready :class:`FastinoClient` instead of the settings above.
        model_id: The PII model or custom endpoint id.
        entity_types: Default labels (an argument of a call overrides them).
        threshold: Default minimum score.
        include_values: Put the raw values into the artifact.

    Example:
        >>> tool = FastinoPIITool(api_key="k")
        >>> tool.name
        'fastino_pii'

        With a key (or the emulator's ``base_url``)::

            msg = tool.invoke({"type": "tool_call", "id": "1",
                               "name": "fastino_pii",
                               "args": {"text": "Mail jamie@example.com"}})
            msg.content   # 'Mail <EMAIL>\n\nFound 1 entity: 1 email.'
            msg.artifact  # [{'label': 'email', 'start': 5, ...}]
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    name: str = "fastino_pii"
    description: str = (
        "Finds personal data (names, e-mail addresses, phone numbers, card "
        "numbers, IBANs, addresses, dates of birth, ...) in a text and returns "
        "the text with each value replaced by a <LABEL> placeholder, plus a "
        "summary of what was found. Use it before storing, sharing or quoting "
        "text that may contain personal data."
    )
    args_schema: type[BaseModel] = FastinoPIIInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: (
        bool | str | Callable[[ToolException], str | Sequence[str | dict[str, Any]]] | None
    ) = True
    """Return a failure (an API error, an answer that does not fit) as a
    ``ToolMessage(status="error")`` an agent can read, instead of raising."""
    handle_validation_error: (
        bool | str | Callable[[ValidationError | ValidationErrorV1], str] | None
    ) = True
    """Return invalid arguments as a ``ToolMessage(status="error")`` too."""
    include_values: bool = False
    """Put the raw values into the artifact (off: callbacks and tracers that
    record tool output never see them)."""

    def _run_kwargs(
        self, entity_types: list[str] | None, threshold: float | None
    ) -> dict[str, Any]:
        """What ``run``/``arun`` get: a call's arguments over the tool's defaults."""
        parameters = self._parameters(
            self.entity_types if entity_types is None else entity_types,
            self.threshold if threshold is None else threshold,
        )
        return {"parameters": parameters, "return_exceptions": True}

    def _render(
        self, field: DocumentField, outcomes: Sequence[FastinoResult | BaseException]
    ) -> tuple[str, list[dict[str, Any]]]:
        try:
            # Exactly the transformer's "redact" path, chunks included.
            spans_of_document([field], outcomes, all_occurrences=True)
        except MLStudioError as exc:
            raise ToolException(str(exc)) from None
        except SpanError as exc:
            msg = f"Fastino's answer does not fit the text, so nothing is returned ({exc})"
            raise ToolException(msg) from None
        spans = field.spans
        redacted = replace_spans(field.text, spans, [redact_token(s.label) for s in spans])
        artifact = entity_dicts(field.text, spans, include_values=self.include_values)
        if not spans:
            return f"{redacted}\n\nNo personal data found.", artifact
        counts = Counter(s.label for s in spans)
        kinds = ", ".join(f"{n} {label}" for label, n in counts.most_common())
        noun = "entity" if len(spans) == 1 else "entities"
        return f"{redacted}\n\nFound {len(spans)} {noun}: {kinds}.", artifact

    def _plan(self, text: str) -> tuple[DocumentField, list[str]]:
        [field], inputs = plan([(0, (), text)], self.chunk_bounds)
        return field, inputs

    def _run(
        self,
        text: str,
        entity_types: list[str] | None = None,
        threshold: float | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Detect and redact PII in ``text``."""
        field, inputs = self._plan(text)
        outcomes = self.fastino_client.run(
            self.model_id, inputs, **self._run_kwargs(entity_types, threshold)
        )
        return self._render(field, outcomes)

    async def _arun(
        self,
        text: str,
        entity_types: list[str] | None = None,
        threshold: float | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Detect and redact PII in ``text`` without blocking the event loop."""
        field, inputs = self._plan(text)
        outcomes = await self.fastino_client.arun(
            self.model_id, inputs, **self._run_kwargs(entity_types, threshold)
        )
        return self._render(field, outcomes)
