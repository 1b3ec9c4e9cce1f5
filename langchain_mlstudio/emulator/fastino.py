"""Emulated Fastino ``POST /run`` with a deterministic PII detector.

One route, as Fastino's "Use the API" page describes it::

    POST /run   {"model_id", "input": [{"text", "parameters"}]}  ->  [answer, ...]

It needs the ``x-api-key`` header (else 401 ``{"message": "Unauthorized"}``);
every error is ``{"message": ...}``. The answer has the shape of Fastino's
documented example: a JSON array with one ``{"input", "latency_ms",
"message", "output": {"entities", "redacted_text"}, "status"}`` object per
input, in input order. The model is :func:`detect` (see
:mod:`~langchain_mlstudio.emulator._pii_detector`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_mlstudio.emulator._pii_detector import FIRST_NAMES, LAST_NAMES, detect, redact
from langchain_mlstudio.emulator._server import (
    EmulatedAPIError,
    EmulatedRequest,
    EmulatedResponse,
    EmulatedService,
    Route,
)

__all__ = ["FIRST_NAMES", "LAST_NAMES", "FastinoCall", "FastinoService", "detect", "redact"]


@dataclass
class FastinoCall:
    """One ``/run`` request the service handled (after authentication)."""

    arrived_at: float
    inputs: int
    model_id: str | None
    status: int


@dataclass(eq=False, kw_only=True)
class FastinoService(EmulatedService):
    """Fastino's ``/run`` API.

    Args:
        api_key: The key the ``x-api-key`` header must carry.
        max_text_length: The longest ``text`` accepted (characters).
        max_batch_size: The most inputs one request may carry (1 emulates
            the Build plan; Pro and Team accept batches).
        latency: Seconds added to every request (simulated inference time).
        default_threshold: The endpoint's threshold when a request sends none.
        fail_marker: Inputs containing this string come back with
            ``"status": "error"`` (a per-input failure); ``None`` disables it.
        offset_unit: What entity offsets count: ``"code points"`` (Python's
            ``str`` indices), ``"UTF-16 units"`` (as JavaScript or Java count)
            or ``"UTF-8 bytes"`` (as Rust or Go count), to test that clients
            check the convention instead of assuming one.
        answer_order: ``"input"`` answers a batch in input order;
            ``"reversed"`` answers it backwards (each answer still echoes its
            ``input``), to test that clients match answers by their echo.

    Attributes:
        calls: Every handled request: arrival time (``time.monotonic()``,
            taken before ``latency``), number of inputs, model id and status.

    Example:
        >>> svc = FastinoService(api_key="k", max_batch_size=8)
        >>> svc.max_batch_size
        8
    """

    name = "fastino"

    api_key: str = field(repr=False)
    max_text_length: int = 20_000
    max_batch_size: int = 64
    latency: float = 0.0
    default_threshold: float = 0.5
    fail_marker: str | None = None
    offset_unit: str = "code points"
    answer_order: str = "input"
    calls: list[FastinoCall] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- the API page: authentication, errors, POST /run --------------------

    def routes(self) -> list[Route]:
        """``POST /run``."""
        return [Route("POST", "/run", self.run)]

    def authenticate(self, request: EmulatedRequest) -> None:
        """401 unless ``x-api-key`` carries the key."""
        if request.header("x-api-key") != self.api_key:
            raise EmulatedAPIError(401, "Unauthorized")

    def error_body(self, request: EmulatedRequest, error: EmulatedAPIError) -> dict[str, Any]:
        """``{"message": ...}``."""
        return {"message": error.message}

    def run(self, request: EmulatedRequest) -> EmulatedResponse:
        """``POST /run``: one answer per input (400 for a bad request, 404 for a model)."""
        body = request.json if isinstance(request.json, dict) else {}
        inputs = body.get("input")
        model_id = body.get("model_id")
        call = FastinoCall(
            arrived_at=time.monotonic(),
            inputs=len(inputs) if isinstance(inputs, list) else 0,
            model_id=model_id if isinstance(model_id, str) else None,
            status=200,
        )
        error = self._problem(request)
        self._record(call if error is None else dataclasses.replace(call, status=error.status))
        if error is not None:
            raise error
        if self.latency > 0:
            time.sleep(self.latency)
        answers = [self._answer(item) for item in body["input"]]
        if self.answer_order == "reversed":
            answers.reverse()
        return EmulatedResponse(200, answers)

    # -- stats -------------------------------------------------------------

    @property
    def requests(self) -> int:
        """How many authenticated ``/run`` requests were handled."""
        with self._lock:
            return len(self.calls)

    @property
    def batch_sizes(self) -> list[int]:
        """Inputs per successful request, in arrival order."""
        with self._lock:
            return [c.inputs for c in self.calls if c.status == 200]

    def arrivals(self) -> list[float]:
        """Arrival times of every handled request, sorted."""
        with self._lock:
            return sorted(c.arrived_at for c in self.calls)

    def reset(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self.calls.clear()

    # -- what the handler shares --------------------------------------------

    def _record(self, call: FastinoCall) -> None:
        with self._lock:
            self.calls.append(call)

    def _problem(self, request: EmulatedRequest) -> EmulatedAPIError | None:
        """The error a ``/run`` request deserves, or ``None`` when it is valid."""
        body = request.json
        if request.json_error or not isinstance(body, dict):
            return EmulatedAPIError(400, "Request body must be a JSON object.")
        model_id = body.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            return EmulatedAPIError(400, "model_id is required.")
        if not model_id.startswith("fastino-pii"):
            return EmulatedAPIError(404, f"Model {model_id} not found.")
        inputs = body.get("input")
        if not isinstance(inputs, list) or not inputs:
            return EmulatedAPIError(400, "input must be a non-empty array.")
        if len(inputs) > self.max_batch_size:
            return EmulatedAPIError(
                400,
                f"Batch of {len(inputs)} inputs exceeds the maximum of "
                f"{self.max_batch_size} for your plan.",
            )
        for i, item in enumerate(inputs):
            problem = self._input_problem(item)
            if problem is not None:
                return EmulatedAPIError(400, f"input[{i}]{problem}")
        return None

    def _input_problem(self, item: Any) -> str | None:
        """What is wrong with one input (after ``input[i]``), or ``None``."""
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            return ".text must be a string."
        if len(item["text"]) > self.max_text_length:
            return f".text is longer than {self.max_text_length} characters."
        params = item.get("parameters")
        if params is None:
            return None
        if not isinstance(params, dict):
            return ".parameters must be an object."
        types = params.get("entity_types")
        if types is not None and (
            not isinstance(types, list) or not all(isinstance(t, str) for t in types)
        ):
            return ".parameters.entity_types must be strings."
        threshold = params.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 <= threshold <= 1
        ):
            return ".parameters.threshold must be between 0 and 1."
        return None

    def _answer(self, item: dict[str, Any]) -> dict[str, Any]:
        text: str = item["text"]
        started = time.perf_counter()
        if self.fail_marker is not None and self.fail_marker in text:
            return {
                "input": text,
                "latency_ms": 0.0,
                "message": "Inference failed for this input.",
                "output": {},
                "status": "error",
            }
        params = item.get("parameters") or {}
        threshold = params.get("threshold")
        entities = detect(
            text,
            params.get("entity_types"),
            self.default_threshold if threshold is None else float(threshold),
        )
        redacted = redact(text, entities)
        return {
            "input": text,
            "latency_ms": round((time.perf_counter() - started) * 1000 + self.latency * 1000, 2),
            "message": "Responses from endpoint.",
            "output": {
                "entities": [self._in_unit(text, e) for e in entities],
                "redacted_text": redacted,
            },
            "status": "success",
        }

    def _in_unit(self, text: str, entity: dict[str, Any]) -> dict[str, Any]:
        if self.offset_unit == "code points":
            return entity
        codec, width = ("utf-16-le", 2) if self.offset_unit == "UTF-16 units" else ("utf-8", 1)

        def units(index: int) -> int:
            return len(text[:index].encode(codec, "surrogatepass")) // width

        return {**entity, "start": units(entity["start"]), "end": units(entity["end"])}
