"""``FastinoPIITool``: find and redact personal data, for agents."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
)
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from langchain_mlstudio.errors import MalformedResponseError, MLStudioError
from langchain_mlstudio.fastino.client import FastinoResult
from langchain_mlstudio.fastino.spans import Chunk, SpanError, pii_spans
from langchain_mlstudio.fastino.strategies import redact_token, replace_spans
from langchain_mlstudio.fastino.transformer import FastinoSettings

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
    given text), for code that needs the values. Failures raise
    ``ToolException``, so ``handle_tool_error=True`` turns them into an error
    ``ToolMessage``.

    Args:
        api_key: Fastino key (default: ``FASTINO_API_KEY``).
        base_url: API root (default: ``FASTINO_BASE_URL`` or the public API).
        timeout: Seconds one HTTP request may take.
        max_retries: Retries of transient failures.
        client: A ready :class:`FastinoClient` instead of the settings above.
        model_id: The PII model or custom endpoint id.
        entity_types: Default labels (an argument of a call overrides them).
        threshold: Default minimum score.

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

    def _params(
        self, entity_types: list[str] | None, threshold: float | None
    ) -> dict[str, Any] | None:
        return self._parameters(
            self.entity_types if entity_types is None else entity_types,
            self.threshold if threshold is None else threshold,
        )

    @staticmethod
    def _render(text: str, result: FastinoResult) -> tuple[str, list[dict[str, Any]]]:
        try:
            # Exactly the transformer's "redact" path: other occurrences of a
            # found value are redacted too.
            spans = pii_spans(text, [(Chunk(0, text), result.pii_entities())])
        except MalformedResponseError as exc:
            raise ToolException(str(exc)) from exc
        except SpanError as exc:
            msg = f"Fastino returned an entity that is not in the text ({exc})"
            raise ToolException(msg) from exc
        redacted = replace_spans(text, spans, [redact_token(s.label) for s in spans])
        artifact = [
            {
                "label": s.label,
                "start": s.start,
                "end": s.end,
                "score": s.score,
                "text": text[s.start : s.end],
            }
            for s in spans
        ]
        if not spans:
            return f"{redacted}\n\nNo personal data found.", artifact
        counts = Counter(s.label for s in spans)
        kinds = ", ".join(f"{n} {label}" for label, n in counts.most_common())
        noun = "entity" if len(spans) == 1 else "entities"
        return f"{redacted}\n\nFound {len(spans)} {noun}: {kinds}.", artifact

    def _run(
        self,
        text: str,
        entity_types: list[str] | None = None,
        threshold: float | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Detect and redact PII in ``text``."""
        try:
            [result] = self.fastino_client.run(
                self.model_id, [text], parameters=self._params(entity_types, threshold)
            )
        except MLStudioError as exc:
            raise ToolException(str(exc)) from exc
        return self._render(text, result)

    async def _arun(
        self,
        text: str,
        entity_types: list[str] | None = None,
        threshold: float | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Detect and redact PII in ``text`` without blocking the event loop."""
        try:
            [result] = await self.fastino_client.arun(
                self.model_id, [text], parameters=self._params(entity_types, threshold)
            )
        except MLStudioError as exc:
            raise ToolException(str(exc)) from exc
        return self._render(text, result)
