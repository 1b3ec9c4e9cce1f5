"""One ``run`` call cut into ``/run`` requests, and each request's answer read back.

:func:`cut` turns the inputs into :class:`Batch` es of at most ``batch_size``
input objects; :func:`read_answers` matches a batch's answers to its inputs by
their ``input`` echo (never by position) and turns each into a
:class:`~langchain_mlstudio.fastino.results.FastinoResult` or the error that
takes its place; :class:`BatchRun` holds what the sync and async ``run`` share:
a failed request in its inputs' places, the progress callbacks, and the final
check across batches. No error built here keeps server text quoting an input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from langchain_mlstudio._core._calls import APIResponse
from langchain_mlstudio._core._errors import describe_validation_error
from langchain_mlstudio.errors import MalformedResponseError, MLStudioError
from langchain_mlstudio.fastino import _echo
from langchain_mlstudio.fastino.results import FastinoInput, FastinoInputError, FastinoResult

__all__ = ["Batch", "BatchRun", "Inputs", "Outcome", "cut", "read_answers"]

#: What ``run`` accepts: texts, or ``{"text", "parameters"}`` objects.
Inputs = Sequence[str | FastinoInput | Mapping[str, Any]]
#: One input's outcome: its result, or the error that takes its place.
Outcome = FastinoResult | MLStudioError


@dataclass(frozen=True)
class Batch:
    """One ``/run`` request: the input objects from position ``offset`` on.

    Example:
        >>> batch = Batch(2, {"model_id": "m", "input": [{"text": "a"}, {"text": "b"}]})
        >>> batch.texts, batch.indices
        (['a', 'b'], range(2, 4))
    """

    offset: int
    payload: dict[str, Any]

    @property
    def items(self) -> list[dict[str, Any]]:
        """The request's input objects."""
        items: list[dict[str, Any]] = self.payload["input"]
        return items

    @property
    def texts(self) -> list[str]:
        """The texts sent (what no error may quote)."""
        return [item["text"] for item in self.items]

    @property
    def indices(self) -> range:
        """The positions of the batch's inputs in the call's ``inputs``."""
        return range(self.offset, self.offset + len(self.items))


def _input_object(
    item: str | FastinoInput | Mapping[str, Any], parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    if isinstance(item, str):
        text, params = item, parameters
    else:
        parsed = item if isinstance(item, FastinoInput) else FastinoInput.model_validate(item)
        text = parsed.text
        params = parsed.parameters if parsed.parameters is not None else parameters
    obj: dict[str, Any] = {"text": text}
    if params is not None:
        obj["parameters"] = dict(params)
    return obj


def cut(
    model_id: str, inputs: Inputs, parameters: Mapping[str, Any] | None, batch_size: int
) -> list[Batch]:
    """``inputs`` as requests of at most ``batch_size`` input objects each.

    Example:
        >>> [b.offset for b in cut("fastino-pii", ["a", "b", "c"], None, 2)]
        [0, 2]
    """
    items = [_input_object(item, parameters) for item in inputs]
    return [
        Batch(start, {"model_id": model_id, "input": items[start : start + batch_size]})
        for start in range(0, len(items), batch_size)
    ]


def read_answers(response: APIResponse, batch: Batch) -> list[Outcome]:
    """One outcome per input of ``batch``, each from the answer echoing its text.

    Raises:
        MalformedResponseError: The answer is not a list of one result per input.
    """
    texts, data = batch.texts, response.data
    if not isinstance(data, list) or len(data) != len(texts):
        got = f"{len(data)} results" if isinstance(data, list) else type(data).__name__
        msg = f"Fastino /run answered {len(texts)} inputs with {got}"
        raise MalformedResponseError(
            msg, status_code=response.status_code, request_id=response.request_id
        )
    slots = _echo.match_echoes(texts, data)
    contradicted = _echo.contradicted_in_batch(batch.items, data)
    return [
        _echo.disagreement(index, response.status_code, response.request_id)
        if text in contradicted
        else _read_result(response, index, text, data[slot])
        if slot is not None
        else MalformedResponseError(
            f"No answer of Fastino's batch echoes input {index} (each answer's "
            "'input' must equal the text sent), so its entities cannot be trusted",
            status_code=response.status_code,
            request_id=response.request_id,
        )
        for index, text, slot in zip(batch.indices, texts, slots, strict=True)
    ]


def _parse_result(raw: Any) -> FastinoResult:
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        raise TypeError("a result needs a 'status' string")
    output = raw.get("output")
    if output is None and raw["status"].lower() != "success":
        output = {}
    if not isinstance(output, dict):
        raise TypeError("a result needs an 'output' object")
    return FastinoResult.model_validate(
        {
            **raw,
            "output": output,
            "entities": output.get("entities") or [],
            "redacted_text": output.get("redacted_text"),
        }
    )


def _read_result(response: APIResponse, index: int, text: str, raw: Any) -> Outcome:
    try:
        result = _parse_result(raw)
    except (TypeError, ValidationError) as exc:
        # Only field names: the raw result may quote the input's PII.
        problem = describe_validation_error(exc) if isinstance(exc, ValidationError) else exc
        return MalformedResponseError(
            f"Fastino's result for input {index} is not in the documented shape ({problem})",
            status_code=response.status_code,
            request_id=response.request_id,
        )
    if result.status.lower() != "success":
        status = _echo.withhold_echo(result.status, [text])
        return FastinoInputError(
            f"Fastino could not process input {index} (status {status!r})",
            index=index,
            input_status=status,
            server_message=_echo.withhold_echo(result.message, [text]),
            request_id=response.request_id,
        )
    return result


@dataclass(frozen=True)
class BatchRun:
    """The batches of one ``run`` call and what happens as each one finishes.

    Args:
        batches: The call's requests, in input order.
        return_exceptions: Put a failed request's error in its inputs' places
            (otherwise it is raised).
        on_batch: Called with the number of inputs of each finished request.
        on_done: Called with the input positions of each finished request.

    Example:
        >>> run = BatchRun(cut("m", [], None, 1), return_exceptions=False)
        >>> run.results([])
        []
    """

    batches: list[Batch]
    return_exceptions: bool
    on_batch: Callable[[int], None] | None = None
    on_done: Callable[[range], None] | None = None

    def send(self, batch: Batch, send: Callable[[Batch], list[Outcome]]) -> list[Outcome]:
        """``send(batch)``, a failed request in its inputs' places, then the callbacks."""
        try:
            outcomes = send(batch)
        except MLStudioError as exc:
            outcomes = self._failed(batch, exc)
        return self._finished(batch, outcomes)

    async def asend(
        self, batch: Batch, send: Callable[[Batch], Awaitable[list[Outcome]]]
    ) -> list[Outcome]:
        """Async twin of :meth:`send`."""
        try:
            outcomes = await send(batch)
        except MLStudioError as exc:
            outcomes = self._failed(batch, exc)
        return self._finished(batch, outcomes)

    def _failed(self, batch: Batch, exc: MLStudioError) -> list[Outcome]:
        if not self.return_exceptions:
            raise exc
        return [exc] * len(batch.items)

    def _finished(self, batch: Batch, outcomes: list[Outcome]) -> list[Outcome]:
        if self.on_batch is not None:
            self.on_batch(len(outcomes))
        if self.on_done is not None:
            self.on_done(range(batch.offset, batch.offset + len(outcomes)))
        return outcomes

    def results(self, outcomes: Sequence[list[Outcome]]) -> list[Any]:
        """Every batch's outcomes in input order, checked across batches.

        Raises:
            MLStudioError: The first failed input, unless ``return_exceptions``.
        """
        flat = [item for batch in outcomes for item in batch]
        keys = [_echo.request_key(item) for batch in self.batches for item in batch.items]
        _echo.fail_disagreeing(keys, flat)  # one input answered differently in two requests
        if not self.return_exceptions:
            for item in flat:
                if isinstance(item, MLStudioError):
                    raise item
        return flat
