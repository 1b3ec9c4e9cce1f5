"""The two front doors of the generate-job API: address, settings, error advice."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, cast

from pydantic import SecretStr

from langchain_mlstudio._core._settings import require
from langchain_mlstudio.errors import ConfigurationError

__all__ = ["PROVIDERS", "Provider", "ProviderInfo", "status_hints"]

Provider = Literal["modelstudio", "ionos"]


@dataclass(frozen=True)
class ProviderInfo:
    """Where a front door of the generate-job API lives and how it is configured."""

    name: Provider
    display_name: str
    default_base_url: str
    api_key_env: str
    organization_env: str
    base_url_env: str

    def resolve(
        self,
        api_key: str | SecretStr | None,
        organization_id: str | None,
        base_url: str | None,
    ) -> tuple[SecretStr, str, str]:
        """Arguments, else environment variables, else defaults; checked.

        A ``base_url`` that already ends in the API path (``.../api/v1``) is
        cut back to the API root.

        Raises:
            ConfigurationError: No key or organization (naming the variable),
                one with surrounding whitespace, or a ``base_url`` pointing
                inside the API.

        Example:
            >>> PROVIDERS["ionos"].resolve("k", "org", "https://studio.example/api/v1/")[2]
            'https://studio.example'
        """
        key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        secret = SecretStr(key) if isinstance(key, str) else key
        plain_key = require(
            secret, setting="api_key", env_var=self.api_key_env, service=self.display_name
        )
        organization = require(
            organization_id or os.environ.get(self.organization_env),
            setting="organization_id",
            env_var=self.organization_env,
            service=self.display_name,
        )
        for setting, value, env_var in (
            ("api_key", plain_key, self.api_key_env),
            ("organization_id", organization, self.organization_env),
        ):
            if value != value.strip() or any(ch.isspace() for ch in value):
                raise ConfigurationError(
                    f"The {setting} for {self.display_name} contains whitespace "
                    "(often a trailing newline read from a file)",
                    hint=f"Strip it before passing {setting}=... or setting {env_var}; "
                    "nothing was sent.",
                )
        url = base_url or os.environ.get(self.base_url_env) or self.default_base_url
        return cast("SecretStr", secret), organization, self._api_root(url)

    def _api_root(self, url: str) -> str:
        root = url.strip().rstrip("/")
        if root.endswith(API_PATH):
            root = root[: -len(API_PATH)]
        if not root.startswith(("http://", "https://")) or "/api/" in root + "/":
            raise ConfigurationError(
                f"base_url {url!r} is not the {self.display_name} API root",
                hint=f"Pass the root only, e.g. base_url={self.default_base_url!r} "
                f"(the client adds {API_PATH}/organizations/...).",
            )
        return root


API_PATH = "/api/v1"

PROVIDERS: dict[Provider, ProviderInfo] = {
    "modelstudio": ProviderInfo(
        "modelstudio",
        "ModelStudio",
        "https://api.modelstudio.app",
        "MODELSTUDIO_API_KEY",
        "MODELSTUDIO_ORGANIZATION_ID",
        "MODELSTUDIO_BASE_URL",
    ),
    "ionos": ProviderInfo(
        "ionos",
        "IONOS AI Model Studio",
        "https://studio.ionos.de",
        "IONOS_MODEL_STUDIO_API_KEY",
        "IONOS_MODEL_STUDIO_ORGANIZATION_ID",
        "IONOS_MODEL_STUDIO_BASE_URL",
    ),
}


def status_hints(info: ProviderInfo) -> dict[int, str]:
    """Advice per HTTP status that fits the chat models and this client."""
    limit = " (IONOS allows three parallel jobs per user)" if info.name == "ionos" else ""
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
