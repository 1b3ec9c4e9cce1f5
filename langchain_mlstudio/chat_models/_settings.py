"""The settings every generate-job chat model shares: fields, checks, serialisation."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from langchain_core.language_models import BaseChatModel, LangSmithParams
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_mlstudio._core._limits import Slots
from langchain_mlstudio.chat_models._capabilities import declared_profile
from langchain_mlstudio.chat_models._checks import check_call_kwargs, check_settings
from langchain_mlstudio.chat_models._providers import PROVIDERS, Provider, ProviderInfo
from langchain_mlstudio.chat_models._runtime import Runtime, current_runtime
from langchain_mlstudio.chat_models.client import ModelStudioClient

__all__ = ["GenerationJobSettings"]


class GenerationJobSettings(BaseChatModel):
    """The settings of a generate-job chat model, and the client they make.

    :class:`~langchain_mlstudio.chat_models.BaseChatGenerationJob` adds how
    calls run; see :class:`~langchain_mlstudio.ChatModelStudio` and
    :class:`~langchain_mlstudio.ChatIonosModelStudio` for the examples.
    """

    provider: ClassVar[Provider] = "modelstudio"

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model: str = Field(alias="model_id")
    """The fine-tuned model's id (alias ``model_id``)."""
    organization_id: str | None = None
    """Organization id; each provider's class reads its ``*_ORGANIZATION_ID`` variable."""
    api_key: SecretStr | None = None
    """Bearer token created in the Studio; each provider's class reads its ``*_API_KEY``."""
    base_url: str | None = None
    """API root; from each provider's ``*_BASE_URL``, else its public URL."""
    temperature: float = Field(default=0.7, ge=0.0, le=1.0)
    """Sampling temperature, 0.0 to 1.0 (checked before any request)."""
    max_tokens: int | None = Field(default=512, ge=1)
    """Maximum length of each response."""
    timeout: float | None = Field(default=30.0, gt=0)
    """Seconds one HTTP request may take."""
    job_timeout: float | None = Field(default=600.0, gt=0)
    """Seconds a job may take from submission to its final state."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of a failed request; a job is never submitted twice."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences, applied to each result (the API has none)."""
    poll_initial_interval: float = Field(default=0.15, gt=0)
    """Seconds before the first status check, and between early checks."""
    poll_max_interval: float = Field(default=2.0, gt=0)
    """The longest wait between two status checks."""
    poll_multiplier: float = Field(default=1.1, ge=1.0)
    """Growth of the check times: each wait is ``(multiplier - 1)`` x time waited."""
    max_batch_size: int = Field(default=32, ge=1)
    """The most conversations packed into one job (by ``batch`` or concurrent calls)."""
    max_concurrent_jobs: int | None = Field(default=4, ge=1)
    """Jobs in flight at once for this credential, across the whole process.

    Every instance, copy, ``bind``, ``with_config`` and ``configurable_fields``
    instance with the same provider, base URL, organization and key shares
    one count; each waits while its own ``max_concurrent_jobs`` are in flight.
    A job holds its slot from submission until its final state, also when its
    caller was cancelled; one that outlives ``job_timeout`` gives its slot back
    with the :class:`~langchain_mlstudio.JobTimeoutError` (it may still run on
    the server, so a caller who resumes it should count it).
    """
    pack_concurrent_calls: bool = True
    """Pack concurrent ``invoke``/``ainvoke`` calls that share a credential and
    job parameters into shared jobs; ``False`` sends each call's job alone
    (``batch`` still packs: set ``max_batch_size=1`` for one job per input)."""
    pack_window: float = Field(default=0.05, gt=0)
    """Seconds a job waits after the last call joined it before it is sent
    (at most four windows in all)."""
    progress: bool | None = None
    """``batch``/``abatch`` show tasks done of total across all their jobs, with
    rate and time left, on stderr (through ``tqdm`` where installed): ``None``
    (default) once a batch lasts 2 s, ``True`` always, ``False`` never
    (``LANGCHAIN_MLSTUDIO_PROGRESS=off`` turns the automatic display off)."""
    default_headers: dict[str, str] | None = None
    """Headers added to every request."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send requests with."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send requests with."""
    streaming: bool = False
    """Whether ``invoke`` goes through the (single-chunk) stream."""
    tool_calling: Literal["none", "prompted"] = "none"
    """``"prompted"`` lets ``bind_tools`` describe tools in a system instruction.

    The API has no tool calling: by default ``bind_tools`` raises
    :class:`~langchain_mlstudio.errors.ToolCallingNotEnabledError` before any
    request. Prompted calls are parsed from the answer text, so they are only
    as reliable as the model's fine-tuning.
    """
    structured_output_retries: int = Field(default=2, ge=0)
    """Re-asks of an answer that fails to parse or validate (structured output, tool calls)."""

    _runtime: Runtime | None = PrivateAttr(default=None)

    @classmethod
    def _service(cls) -> ProviderInfo:
        return PROVIDERS[cls.provider]

    @model_validator(mode="before")
    @classmethod
    def _known_settings_only(cls, values: Any) -> Any:
        """Refuse a misspelt or unsupported setting, naming close matches."""
        if isinstance(values, dict):
            check_settings(cls.__name__, cls.model_fields, values)
        return values

    @model_validator(mode="after")
    def _checked_credentials(self) -> Self:
        """Key, organization and API root checked now, failing fast naming the variable.

        A credential left ``None`` is read from its variable here too, so the
        chat model and :class:`ModelStudioClient` accept the same settings.
        """
        settings, organization = self._service().resolve_settings(
            api_key=self.api_key, organization_id=self.organization_id, base_url=self.base_url
        )
        self.api_key, self.organization_id = settings.api_key, organization
        self.base_url = settings.base_url
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Check settings that depend on each other."""
        if self.poll_max_interval < self.poll_initial_interval:
            msg = "poll_max_interval must be >= poll_initial_interval"
            raise ValueError(msg)
        if self.profile is None:
            self.profile = declared_profile()

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Where LangChain's serializer finds the secret."""
        return {"api_key": self._service().api_key_env}

    @property
    def _llm_type(self) -> str:
        return f"{self.provider}-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "base_url": self.base_url,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=self.provider,
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- serialisation ----------------------------------------------------------

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """``langchain_core.load.dumps`` writes the settings, never the key."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Where ``loads`` finds the class."""
        return ["langchain_mlstudio", "chat_models"]

    def __getstate__(self) -> dict[Any, Any]:
        # Runtime state (clients, limiter) is rebuilt on the other side; injected
        # HTTP clients hold sockets and cannot cross processes.
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "http_client": None, "http_async_client": None}
        state["__pydantic_private__"] = {**(state["__pydantic_private__"] or {}), "_runtime": None}
        return state

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> GenerationJobSettings:
        memo = {} if memo is None else memo
        for shared in (self.http_client, self.http_async_client):
            if shared is not None:
                memo[id(shared)] = shared  # a copy may use the caller's own clients
        if self._runtime is not None:
            memo[id(self._runtime)] = None
        return super().__deepcopy__(memo)

    # -- shared machinery -----------------------------------------------------

    def _runtime_now(self) -> Runtime:
        """The runtime for the instance's settings as they are now."""
        runtime = current_runtime(self, self._runtime)
        self._runtime = runtime
        return runtime

    @property
    def client(self) -> ModelStudioClient:
        """The job client for the instance's current settings.

        Use it to submit, inspect or resume jobs by id directly; it gives the
        same text as ``invoke`` for the same task.
        """
        return self._runtime_now().client

    @property
    def slots(self) -> Slots:
        """The count of jobs in flight shared by every model using this credential."""
        return self._runtime_now().slots

    def _job_params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The job parameters of one call; an unknown keyword fails before any request."""
        check_call_kwargs(type(self).__name__, kwargs)
        return {
            "model": kwargs.get("model") or self.model,
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
        }
