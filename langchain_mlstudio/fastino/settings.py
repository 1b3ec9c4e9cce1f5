"""Settings shared by :class:`FastinoPIITransformer` and :class:`FastinoPIITool`."""

from __future__ import annotations

from typing import Any

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from langchain_mlstudio._core._locks import InstanceLock
from langchain_mlstudio.fastino._pipeline import ChunkBounds
from langchain_mlstudio.fastino.client import FastinoClient

__all__ = ["DEFAULT_ENTITY_TYPES", "FastinoSettings"]

#: The labels asked for by default: personal data found in customer records.
DEFAULT_ENTITY_TYPES: tuple[str, ...] = (
    "full_name",
    "email",
    "phone_number",
    "street_address",
    "date_of_birth",
    "credit_card_number",
    "cvv",
    "iban",
    "account_number",
    "social_security_number",
    "passport_number",
    "medical_record_number",
    "username",
    "ip_address",
)


class FastinoSettings(BaseModel):
    """Client and chunking settings shared by the transformer and the tool.

    Both send text in the same chunks (:attr:`chunk_bounds`), so the tool finds
    exactly what the transformer finds.

    Example:
        >>> FastinoSettings(api_key="k").chunk_bounds.chunk_words
        300
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(
        alias="api_key",
        default_factory=secret_from_env("FASTINO_API_KEY", default=None),
        repr=False,
    )
    """Fastino key (default: ``FASTINO_API_KEY``)."""
    base_url: str | None = Field(default_factory=from_env("FASTINO_BASE_URL", default=None))
    """API root (default: ``FASTINO_BASE_URL`` or ``https://api.fastino.com``)."""
    timeout: float | None = 30.0
    """Seconds one HTTP request may take."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of transient failures (429, 5xx, network errors)."""
    client: FastinoClient | None = None
    """A ready client; when given, the settings above are not used."""
    model_id: str = "fastino-pii"
    """The PII model or custom endpoint id."""
    entity_types: list[str] | None = Field(default_factory=lambda: list(DEFAULT_ENTITY_TYPES))
    """Labels to detect; ``None`` sends none, so the endpoint's setup applies."""
    threshold: float | None = Field(default=0.3, ge=0, le=1)
    """Minimum score of an entity; ``None`` uses the endpoint's default."""
    chunk_size: int = Field(default=1500, ge=50)
    """Longest text sent in one input, in characters."""
    chunk_overlap: int = Field(default=200, ge=0)
    """Characters shared by neighbouring chunks."""
    chunk_words: int = Field(default=300, ge=10)
    """Most words in one input, counted as GLiNER-style models count them
    (punctuation counts): safely inside their ~384-word window, also for
    token-dense text such as JSON lines, tables or logs."""
    chunk_overlap_words: int = Field(default=50, ge=0)
    """Most words shared by neighbouring chunks."""

    _own_client: FastinoClient | None = PrivateAttr(default=None)
    _client_lock: InstanceLock = PrivateAttr(default_factory=InstanceLock)

    @model_validator(mode="after")
    def _check_chunks(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            msg = "chunk_overlap must be smaller than chunk_size"
            raise ValueError(msg)
        if self.chunk_overlap_words >= self.chunk_words:
            msg = "chunk_overlap_words must be smaller than chunk_words"
            raise ValueError(msg)
        return self

    @property
    def chunk_bounds(self) -> ChunkBounds:
        """The bounds every input is cut to."""
        return ChunkBounds(
            self.chunk_size, self.chunk_overlap, self.chunk_words, self.chunk_overlap_words
        )

    @property
    def fastino_client(self) -> FastinoClient:
        """The client in use: ``client``, or one built from the settings."""
        if self.client is not None:
            return self.client
        if self._own_client is None:
            with self._client_lock:
                if self._own_client is None:
                    self._own_client = self._build_client()
        return self._own_client

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        if self.api_key is not None:
            kwargs["api_key"] = self.api_key
        if self.base_url is not None:
            kwargs["base_url"] = self.base_url
        return kwargs

    def _build_client(self) -> FastinoClient:
        return FastinoClient(**self._client_kwargs())

    def _parameters(
        self, entity_types: list[str] | None, threshold: float | None
    ) -> dict[str, Any] | None:
        params: dict[str, Any] = {}
        if entity_types is not None:
            params["entity_types"] = list(entity_types)
        if threshold is not None:
            params["threshold"] = threshold
        return params or None

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_own_client"] = None
        private["_client_lock"] = InstanceLock()
        state["__pydantic_private__"] = private
        return state
