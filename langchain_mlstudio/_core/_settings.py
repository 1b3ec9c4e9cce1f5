"""Helpers for the settings every component shares."""

from __future__ import annotations

from pydantic import SecretStr

from langchain_mlstudio._core._errors import troubleshooting
from langchain_mlstudio._core._http import header_problem
from langchain_mlstudio.errors import ConfigurationError


def require(value: SecretStr | str | None, *, setting: str, env_var: str, service: str) -> str:
    """The setting's plain value, or a :class:`ConfigurationError` naming its variable.

    A value no HTTP request can carry as sent (a key pasted shortened with
    '…', with a trailing line break or with spaces around it) is an error too,
    naming the setting and the character but never showing the value.

    Example:
        >>> require(SecretStr("k"), setting="api_key", env_var="X_API_KEY", service="X")
        'k'
        >>> try:
        ...     require("sk…90", setting="api_key", env_var="K", service="X")
        ... except ConfigurationError as err:
        ...     print(err.message)
        The api_key for X (argument or K) contains the character '…' (U+2026 HORIZONTAL ELLIPSIS)
    """
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not plain:
        msg = f"No {setting} for {service}"
        raise ConfigurationError(
            msg,
            hint=f"Pass {setting}=... or set the {env_var} environment variable.",
        )
    problem = header_problem(plain)
    if problem is not None:
        msg = f"The {setting} for {service} (argument or {env_var}) contains {problem}"
        raise ConfigurationError(
            msg,
            hint="Copy the whole value again from where it was created: one shown "
            "shortened with '…', or pasted with quotes, spaces or a line break, is not "
            f"the value itself. {troubleshooting('pasted-key')}",
        )
    return plain
