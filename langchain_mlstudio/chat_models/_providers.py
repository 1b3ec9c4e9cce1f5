"""The two front doors of the generate-job API, each a :class:`Service` record.

Both read an API key, a base URL and, unlike the other services, an
organization id from their own environment variables; both cut a base URL
that already ends in the API path back to the API root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from langchain_mlstudio._core._settings import Service, Settings, require
from langchain_mlstudio.errors import ConfigurationError

__all__ = ["API_PATH", "PROVIDERS", "Provider", "ProviderInfo"]

Provider = Literal["modelstudio", "ionos"]

#: The path below the API root that every endpoint starts with.
API_PATH = "/api/v1"


@dataclass(frozen=True, kw_only=True)
class ProviderInfo(Service):
    """A front door of the generate-job API: a :class:`Service` with an organization.

    Attributes:
        provider: The short name the chat models report (``"modelstudio"``, ``"ionos"``).
        organization_env: The environment variable holding the organization id.

    Example:
        >>> settings, organization = PROVIDERS["ionos"].resolve_settings(
        ...     api_key="k", organization_id="org", base_url="https://studio.example/api/v1/")
        >>> settings.base_url, organization
        ('https://studio.example', 'org')
    """

    provider: Provider
    organization_env: str

    def resolve_settings(
        self,
        *,
        api_key: str | SecretStr | None,
        organization_id: str | None,
        base_url: str | None,
        **options: Any,
    ) -> tuple[Settings, str]:
        """The client's settings and organization: each argument, else its variable, else default.

        ``options`` are the other arguments of :meth:`Service.settings`
        (timeout, retries, headers, HTTP clients).

        Raises:
            ConfigurationError: No key or organization (naming the variable),
                one with whitespace, or a ``base_url`` pointing inside the API.
        """
        key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        secret = SecretStr(key) if isinstance(key, str) else key
        plain_key = super().key_of(secret)
        organization = require(
            organization_id or os.environ.get(self.organization_env),
            setting="organization_id",
            env_var=self.organization_env,
            service=self.name,
        )
        self._refuse_whitespace("api_key", plain_key, self.api_key_env)
        self._refuse_whitespace("organization_id", organization, self.organization_env)
        return self.settings(api_key=secret, base_url=base_url, **options), organization

    def key_of(self, api_key: SecretStr | None) -> str:
        """The key's plain value, checked; whitespace anywhere in it is refused too.

        Raises:
            ConfigurationError: No key (naming its variable), or one with whitespace.
        """
        plain = super().key_of(api_key)
        self._refuse_whitespace("api_key", plain, self.api_key_env)
        return plain

    def _refuse_whitespace(self, setting: str, value: str, env_var: str) -> None:
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise ConfigurationError(
                f"The {setting} for {self.name} contains whitespace "
                "(often a trailing newline read from a file)",
                hint=f"Strip it before passing {setting}=... or setting {env_var}; "
                "nothing was sent.",
            )

    def api_root(self, url: str | None) -> str:
        """The API root: ``url`` without a trailing ``/api/v1`` or slash.

        Raises:
            ConfigurationError: A URL that is not ``http(s)://`` or points inside the API.
        """
        given = url or ""
        root = given.strip().rstrip("/")
        if root.endswith(API_PATH):
            root = root[: -len(API_PATH)]
        if not root.startswith(("http://", "https://")) or "/api/" in root + "/":
            raise ConfigurationError(
                f"base_url {given!r} is not the {self.name} API root",
                hint=f"Pass the root only, e.g. base_url={self.default_base_url!r} "
                f"(the client adds {API_PATH}/organizations/...).",
            )
        return root


def _status_hints(limit: str) -> dict[int, str]:
    """Advice per HTTP status that fits the chat models and the job client."""
    return {
        404: (
            "Check the model id, the organization id and the job id, and that "
            f"base_url is the API root (without {API_PATH})."
        ),
        429: (
            f"Too many jobs in flight{limit}: lower max_concurrent_jobs (shared by every "
            "model using this key), or raise job_timeout, the time a refused job is "
            "submitted again."
        ),
    }


def _front_door(
    provider: Provider, name: str, env_prefix: str, default_base_url: str, limit: str = ""
) -> ProviderInfo:
    """A front door reading ``{env_prefix}_API_KEY``, ``_ORGANIZATION_ID`` and ``_BASE_URL``."""
    return ProviderInfo(
        name=name,
        api_key_env=f"{env_prefix}_API_KEY",
        base_url_env=f"{env_prefix}_BASE_URL",
        default_base_url=default_base_url,
        status_hints=_status_hints(limit),
        provider=provider,
        organization_env=f"{env_prefix}_ORGANIZATION_ID",
    )


PROVIDERS: dict[Provider, ProviderInfo] = {
    "modelstudio": _front_door(
        "modelstudio", "ModelStudio", "MODELSTUDIO", "https://api.modelstudio.app"
    ),
    "ionos": _front_door(
        "ionos",
        "IONOS AI Model Studio",
        "IONOS_MODEL_STUDIO",
        "https://studio.ionos.de",
        limit=" (IONOS allows three parallel jobs per user)",
    ),
}
