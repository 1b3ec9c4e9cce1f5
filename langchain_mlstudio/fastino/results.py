"""What Fastino's ``/run`` takes and gives back: inputs, results, entities, input errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langchain_mlstudio.errors import MalformedResponseError, MLStudioError

__all__ = ["FastinoEntity", "FastinoInput", "FastinoInputError", "FastinoResult"]


class FastinoEntity(BaseModel):
    """One entity the model found, with offsets into the input it was sent.

    Example:
        >>> e = FastinoEntity(start=0, end=4, label="time", text="9 AM", score=0.59)
        >>> e.end - e.start
        4
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    start: int
    end: int
    label: str
    text: str
    score: float = 1.0


class FastinoResult(BaseModel):
    """The model's answer for one input.

    Attributes:
        input: The text as the server received it.
        entities: The entities found (PII models), in the server's order.
        redacted_text: The text with each entity replaced by ``<LABEL>``.
        latency_ms: Model inference time reported by the server.
        status: ``"success"`` (results with another status are raised or
            returned as :class:`FastinoInputError`).
        message: The server's message for this input.
        output: The raw ``output`` object (its shape varies by model).

    Example:
        >>> r = FastinoResult(input="hi", status="success", output={"entities": []})
        >>> r.pii_entities()
        []
    """

    model_config = ConfigDict(extra="ignore")

    input: str = ""
    entities: list[FastinoEntity] = Field(default_factory=list)
    redacted_text: str | None = None
    latency_ms: float | None = None
    status: str
    message: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)

    def pii_entities(self) -> list[FastinoEntity]:
        """The entities of a PII model's answer, refusing an answer that has none.

        A PII answer without an ``entities`` list is not "nothing found": it is
        a malformed answer, and treating it as clean text would fail open.

        Raises:
            MalformedResponseError: ``output`` has no ``entities`` list.
        """
        if not isinstance(self.output.get("entities"), list):
            msg = "Fastino's answer has no 'entities' list, so nothing can be trusted as clean"
            raise MalformedResponseError(msg)
        return self.entities


class FastinoInput(BaseModel):
    """One object of a request's ``input`` array.

    Example:
        >>> FastinoInput(text="Jamie", parameters={"threshold": 0.3}).text
        'Jamie'
    """

    text: str
    parameters: dict[str, Any] | None = None


class FastinoInputError(MLStudioError):
    """Fastino answered, but one input's ``status`` was not ``success``.

    Attributes:
        index: The input's position in the ``inputs`` passed to ``run``.
        input_status: The status the server reported for it.

    Example:
        >>> err = FastinoInputError("Input 2 failed", index=2, input_status="error")
        >>> err.index
        2
    """

    default_hint = "Retry the input; report the request id if it keeps failing."

    def __init__(
        self, message: str, *, index: int, input_status: str | None, **kwargs: Any
    ) -> None:
        self.index = index
        self.input_status = input_status
        super().__init__(message, **kwargs)
