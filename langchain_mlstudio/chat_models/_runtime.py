"""A chat model's runtime state, derived from its current settings.

The job client (and its HTTP clients) and the limiter are never stored as
settings of their own: they are looked up from what the instance says *now*.
A ``model_copy`` with another key, a field changed after the first call, a
``configurable_fields`` instance: each gets a client for its own settings,
and every instance sharing a credential (provider, base URL, organization,
key) shares one process-wide count of jobs in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_mlstudio._core._limits import Slots, secret_fingerprint, shared_slots
from langchain_mlstudio._core._polling import PollSchedule
from langchain_mlstudio.chat_models._providers import PROVIDERS
from langchain_mlstudio.chat_models.client import ModelStudioClient

__all__ = ["Runtime", "current_runtime"]

if TYPE_CHECKING:
    from langchain_mlstudio.chat_models._settings import GenerationJobSettings

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Runtime:
    """The client and limiter for one set of settings.

    Attributes:
        key: Every setting that shapes a request (the key only as a salted
            digest); two instances with equal keys may share jobs.
        client: The job client built from those settings.
        slots: The credential's process-wide count of jobs in flight.
    """

    key: Hashable
    client: ModelStudioClient
    slots: Slots


def _settings_key(model: GenerationJobSettings) -> tuple[Hashable, tuple[Any, ...]]:
    """``(key, resolved credential)``; raises ConfigurationError on a bad setting."""
    settings, organization = PROVIDERS[model.provider].resolve_settings(
        api_key=model.api_key, organization_id=model.organization_id, base_url=model.base_url
    )
    secret, base_url = settings.api_key, settings.base_url
    assert secret is not None  # noqa: S101  # resolve_settings checked it
    credential = (
        model.provider,
        base_url,
        organization,
        secret_fingerprint(secret.get_secret_value()),
    )
    key = (
        credential,
        model.timeout,
        model.max_retries,
        model.job_timeout,
        model.poll_initial_interval,
        model.poll_max_interval,
        model.poll_multiplier,
        tuple(sorted((model.default_headers or {}).items())),
        id(model.http_client),
        id(model.http_async_client),
    )
    return key, (secret, organization, base_url, credential)


def current_runtime(model: GenerationJobSettings, cached: Runtime | None) -> Runtime:
    """``cached`` if it still matches the model's settings, else a new runtime."""
    key, (secret, organization, base_url, credential) = _settings_key(model)
    if cached is not None and cached.key == key:
        return cached
    with _LOCK:
        client = ModelStudioClient(
            api_key=secret,
            organization_id=organization,
            base_url=base_url,
            provider=model.provider,
            timeout=model.timeout,
            max_retries=model.max_retries,
            job_timeout=model.job_timeout,
            poll_schedule=PollSchedule(
                model.poll_initial_interval, model.poll_max_interval, model.poll_multiplier
            ),
            default_headers=model.default_headers,
            http_client=model.http_client,
            http_async_client=model.http_async_client,
        )
        return Runtime(key, client, shared_slots(("generate-jobs", *credential)))
