"""Helpers for the settings every component shares."""

from __future__ import annotations

from pydantic import SecretStr

from langchain_mlstudio.errors import ConfigurationError


def require(value: SecretStr | str | None, *, setting: str, env_var: str, service: str) -> str:
    """The setting's plain value, or a :class:`ConfigurationError` naming its variable.

    Example:
        >>> require(SecretStr("k"), setting="api_key", env_var="X_API_KEY", service="X")
        'k'
    """
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not plain:
        msg = f"No {setting} for {service}"
        raise ConfigurationError(
            msg,
            hint=f"Pass {setting}=... or set the {env_var} environment variable.",
        )
    return plain
