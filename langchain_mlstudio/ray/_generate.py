"""``generate_dataset``: a Ray Dataset of prompts through a generate-job chat model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel

from langchain_mlstudio.chat_models._messages import apply_stop
from langchain_mlstudio.chat_models.base import BaseChatGenerationJob
from langchain_mlstudio.chat_models.client import ModelStudioClient
from langchain_mlstudio.chat_models.types import GenerationJob
from langchain_mlstudio.errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    InvalidInputError,
    MLStudioError,
)
from langchain_mlstudio.ray._arrow import assemble
from langchain_mlstudio.ray._errors import JobOutcomeUnknownError, require_ray
from langchain_mlstudio.ray._rows import GenerationLayout, Row, conversation_of, job_key
from langchain_mlstudio.ray._shared import ask_coordinator

__all__ = ["GenerationWorker", "ModelRecipe", "generate_dataset", "no_job_created"]

#: Statuses that refuse a job as a whole before creating it (the part is split).
_REFUSED_WHOLE = frozenset({400, 413, 422})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)

Outcome = tuple[str | None, BaseException | None, str | None]  # text, error, job id
RowConversation = tuple[Any, list[dict[str, Any]]]  # row id, conversation


def no_job_created(error: BaseException) -> bool:
    """Whether a failed submission provably created no job (so it may be sent again).

    The server answered with an error status below 500 (or 503), the request
    never left (a failed connect), or it was refused before sending.

    Example:
        >>> from langchain_mlstudio.errors import APITimeoutError, RateLimitError
        >>> no_job_created(RateLimitError("busy", status_code=429))
        True
        >>> no_job_created(APITimeoutError("no answer"))  # it may have arrived
        False
    """
    if isinstance(error, APIStatusError):
        return error.status_code is not None and (
            error.status_code < 500 or error.status_code == 503
        )
    if isinstance(error, APIConnectionError):
        return isinstance(error.__cause__, _NOT_SENT)
    return isinstance(error, InvalidInputError | ConfigurationError)


@dataclass(frozen=True)
class ModelRecipe:
    """How to build the chat model again in a worker: its class and settings.

    Only the model's own settings travel (key included, as a ``SecretStr``);
    injected HTTP clients, callbacks and caches stay on the driver.

    Example:
        >>> from langchain_mlstudio import ChatIonosModelStudio
        >>> llm = ChatIonosModelStudio(model="m", api_key="k", organization_id="o")
        >>> again = ModelRecipe.of(llm).build()
        >>> again.max_concurrent_jobs, again.api_key
        (3, SecretStr('**********'))
    """

    model_class: type[BaseChatGenerationJob]
    settings: dict[str, Any]

    @classmethod
    def of(cls, llm: BaseChatGenerationJob) -> ModelRecipe:
        """The recipe of ``llm``."""
        own = set(type(llm).model_fields) - set(BaseChatModel.model_fields)
        own -= {"http_client", "http_async_client"}
        return cls(type(llm), {name: getattr(llm, name) for name in sorted(own)})

    def build(self) -> BaseChatGenerationJob:
        """A new model with the same settings."""
        return self.model_class(**self.settings)


class GenerationWorker:
    """The callable class Ray Data runs in each worker: one batch of prompts at a time.

    The batch's valid rows are packed into jobs of ``max_batch_size``
    conversations, each run under a slot of the run's coordinator and recorded
    in its ledger, so a retried task resumes a job instead of submitting it.

    Args:
        recipe: How to build the chat model here.
        coordinator: The run's coordinator actor handle.
        layout: Where prompt and id are, and where the answer goes.
    """

    def __init__(self, recipe: ModelRecipe, coordinator: Any, layout: GenerationLayout) -> None:
        self.llm = recipe.build()
        self.client: ModelStudioClient = self.llm.client
        self.coordinator = coordinator
        self.layout = layout
        self.params: dict[str, Any] = {
            "model": self.llm.model,
            "temperature": self.llm.temperature,
            "max_tokens": self.llm.max_tokens,
        }

    def rows(self, rows: list[Row]) -> list[Row]:
        """Answer rows; each gets its answer or its error's class."""
        outcomes: list[Outcome | None] = [None] * len(rows)
        valid: list[tuple[int, RowConversation]] = []
        for i, row in enumerate(rows):
            row_id, prompt = self.layout.row_id(row), self.layout.prompt(row)
            try:
                conversation = conversation_of(prompt)
                ModelStudioClient.build_payload([conversation], **self.params)
            except MLStudioError as exc:
                outcomes[i] = (None, exc, None)
                continue
            valid.append((i, (row_id, conversation)))
        size = self.llm.max_batch_size
        parts = [valid[start : start + size] for start in range(0, len(valid), size)]
        if parts:
            cap = self.llm.max_concurrent_jobs or len(parts)
            with ThreadPoolExecutor(
                min(len(parts), cap), thread_name_prefix="mlstudio-ray"
            ) as pool:
                done = pool.map(lambda part: self.run_part([m for _, m in part]), parts)
                for part, results in zip(parts, done, strict=True):
                    for (i, _), outcome in zip(part, results, strict=True):
                        outcomes[i] = outcome
        return [
            self.layout.answered(row, *outcome)
            for row, outcome in zip(rows, outcomes, strict=True)
            if outcome is not None
        ]

    def run_part(self, members: list[RowConversation]) -> list[Outcome]:
        """One job's outcomes; a job refused as a whole is split in halves."""
        outcome = self._run_job(members)
        if outcome is not None:
            return outcome
        middle = (len(members) + 1) // 2
        return self.run_part(members[:middle]) + self.run_part(members[middle:])

    def _run_job(self, members: list[RowConversation]) -> list[Outcome] | None:
        """Submit (or resume) and follow one job; ``None`` when it must be split."""
        ids = [row_id for row_id, _ in members]
        conversations = [conversation for _, conversation in members]
        key = job_key(ids, conversations)
        run = self.coordinator
        ask_coordinator(run.acquire_slot.remote(key), "a job slot")
        try:
            action, job_id = ask_coordinator(run.claim.remote(key), "the job ledger")
            if action == "unknown":
                error = JobOutcomeUnknownError(
                    f"An earlier attempt of this task started submitting the job of rows "
                    f"{ids[0]!r}..{ids[-1]!r} and died before its id was recorded",
                    key=key,
                )
                return [(None, error, None)] * len(members)
            if job_id is None:
                try:
                    # A 429 (the provider's parallel-job limit, e.g. jobs of this
                    # key outside the run) is waited out, creating nothing.
                    job_id = self.client.submit(
                        conversations, **self.params, wait_for_capacity=self.llm.job_timeout
                    )
                except MLStudioError as exc:
                    if no_job_created(exc):
                        ask_coordinator(run.abandon.remote(key), "the job ledger")
                        if (
                            len(members) > 1
                            and isinstance(exc, APIStatusError)
                            and exc.status_code in _REFUSED_WHOLE
                        ):
                            return None
                    return [(None, exc, None)] * len(members)
                ask_coordinator(run.record.remote(key, job_id), "the job ledger")
            try:
                job = self.client.wait_for_job(job_id)
            except MLStudioError as exc:
                return [(None, exc, job_id)] * len(members)
            return [self._task_outcome(job, index) for index in range(len(members))]
        finally:
            ask_coordinator(run.release_slot.remote(key), "a job slot")

    def _task_outcome(self, job: GenerationJob, index: int) -> Outcome:
        try:
            text, _ = apply_stop(job.text_for(index).lstrip(), self.llm.stop)
        except MLStudioError as exc:
            return (None, exc, job.job_id)
        return (text, None, job.job_id)

    def __call__(self, batch: Any) -> Any:
        """Answer one ``pyarrow.Table`` batch."""
        return assemble(batch, list(self.rows(batch.to_pylist())), self.layout.added)


def generate_dataset(
    ds: Any,
    llm: BaseChatGenerationJob,
    *,
    prompt_column: str = "prompt",
    output_column: str = "answer",
    id_column: str = "id",
    rows_per_batch: int | None = None,
    concurrency: int = 2,
    num_cpus: float = 1.0,
) -> Any:
    """Answer every prompt of a Ray ``Dataset`` with a generate-job chat model.

    ``prompt_column`` holds a string (one user message) or a conversation (a
    list of messages or ``{"role", "content"}`` dicts). Each worker packs its
    batch's rows into jobs of ``llm.max_batch_size`` conversations. The rows
    come back with their columns and three more: ``output_column`` (the
    answer, ``llm.stop`` applied, or ``None``), ``<output_column>_error``
    (the error's class when the row failed: an invalid prompt, a failed task
    or job, a refused request) and ``<output_column>_job_id``.

    ``llm.max_concurrent_jobs`` is held for the whole run, not per worker:
    every job takes a slot of the run's coordinator actor from submission to
    its end (IONOS: 3 parallel jobs per user). The coordinator also records
    each job's id under a key derived from its rows, so when Ray retries a
    task (a worker died) the retry resumes the recorded job instead of
    submitting a second one; a job whose submission was cut off before its id
    was recorded is not guessed at: its rows fail with
    :class:`JobOutcomeUnknownError`.

    Args:
        ds: A Ray ``Dataset``.
        llm: A :class:`~langchain_mlstudio.ChatModelStudio` or
            :class:`~langchain_mlstudio.ChatIonosModelStudio` (its settings
            travel to the workers; injected HTTP clients do not).
        prompt_column: The column holding each prompt.
        output_column: The column the answer goes to.
        id_column: The column holding each row's id (the job keys use it).
        rows_per_batch: Rows per Ray batch (default: four jobs' worth).
        concurrency: Worker actors.
        num_cpus: CPUs reserved per worker.

    Returns:
        A lazy Ray ``Dataset`` with the answers.

    Raises:
        RayNotInstalledError: Ray is not installed.
        ConfigurationError: ``llm`` is not a generate-job chat model.

    Example:
        >>> generate_dataset(None, "not a model")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        langchain_mlstudio.errors.ConfigurationError: generate_dataset needs...

        On a cluster (or ``ray.init()`` locally)::

            llm = ChatIonosModelStudio(model="my-model")  # 3 parallel jobs
            ds = ray.data.read_parquet("s3://tickets")
            generate_dataset(ds, llm).write_parquet("s3://answers")
    """
    if not isinstance(llm, BaseChatGenerationJob):
        raise ConfigurationError(
            "generate_dataset needs a ChatModelStudio or ChatIonosModelStudio, got "
            f"{type(llm).__name__}",
            hint="Pass the generate-job chat model configured as for a single process.",
        )
    ray = require_ray()
    from langchain_mlstudio.ray._coordinator import start_coordinator

    coordinator = start_coordinator("generate", job_slots=llm.max_concurrent_jobs)
    layout = GenerationLayout(prompt_column, output_column, id_column)
    return ds.map_batches(
        GenerationWorker,
        fn_constructor_kwargs={
            "recipe": ModelRecipe.of(llm),
            "coordinator": coordinator,
            "layout": layout,
        },
        batch_size=rows_per_batch or 4 * llm.max_batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
    )
