"""One way to configure every service: argument, else environment variable, else default.

Each service module declares one :class:`Service` record (its name, the
environment variables it reads, its default host, its advice per HTTP
status). :meth:`Service.settings` resolves a client's arguments into a
checked :class:`Settings`, and :meth:`Settings.transport` builds the
:class:`~langchain_mlstudio._core._http.HTTPTransport` the client sends
through. The LangChain components declare ``secret_from_env``/``from_env``
fields for the same variables and hand their values on.

Example:
    >>> EXAMPLE = Service("Example", "EXAMPLE_API_KEY", "EXAMPLE_BASE_URL",
    ...                   default_base_url="https://api.example.invalid/")
    >>> settings = EXAMPLE.settings(api_key="k", timeout=5.0)
    >>> settings
    Settings(service='Example', base_url='https://api.example.invalid', timeout=5.0, max_retries=2)
    >>> settings.transport(lambda: {}).base_url
    'https://api.example.invalid'
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from langchain_mlstudio._core._errors import troubleshooting
from langchain_mlstudio._core._http import HTTPTransport, RequestGate, header_problem
from langchain_mlstudio._core._retry import RetryPolicy
from langchain_mlstudio.errors import ConfigurationError

__all__ = ["Service", "Settings", "require"]


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


@dataclass(frozen=True)
class Service:
    """What the package knows of one service's configuration.

    Attributes:
        name: The service's name in messages, e.g. ``"Fastino"``.
        api_key_env: The environment variable holding the API key.
        base_url_env: The environment variable holding the base URL.
        default_base_url: The public host, or ``None`` when there is none.
        status_hints: Advice per HTTP status, added to this service's errors.
    """

    name: str
    api_key_env: str
    base_url_env: str
    default_base_url: str | None = None
    status_hints: Mapping[int, str] = field(default_factory=dict)

    def settings(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        require_key: bool = True,
    ) -> Settings:
        """A client's checked settings: each argument, else its variable, else the default.

        Args:
            api_key: The key (default: the ``api_key_env`` variable).
            base_url: The base URL (default: ``base_url_env``, else the default).
            timeout: Seconds one HTTP request may take.
            max_retries: Retries of a failed request, where safe.
            default_headers: Headers merged into every request.
            http_client: An ``httpx.Client`` to send through.
            http_async_client: An ``httpx.AsyncClient`` to send through.
            require_key: Check the key now (default), or leave it to the
                first request (:meth:`Settings.key`), for clients that may be
                built before their key is set.

        Raises:
            ConfigurationError: No key (naming its variable) or one no header
                can carry, no or a malformed base URL, ``max_retries < 0``.
        """
        key = api_key if api_key is not None else os.environ.get(self.api_key_env)
        secret = SecretStr(key) if isinstance(key, str) else key
        if require_key:
            self.key_of(secret)
        if max_retries < 0:
            msg = f"max_retries must be >= 0, got {max_retries}"
            raise ConfigurationError(msg)
        url = base_url or os.environ.get(self.base_url_env) or self.default_base_url
        return Settings(
            self,
            secret,
            self.api_root(url),
            timeout=timeout,
            max_retries=max_retries,
            default_headers=dict(default_headers or {}),
            http_client=http_client,
            http_async_client=http_async_client,
        )

    def key_of(self, api_key: SecretStr | None) -> str:
        """The key's plain value for a request header, checked by :func:`require`."""
        return require(api_key, setting="api_key", env_var=self.api_key_env, service=self.name)

    def api_root(self, url: str | None) -> str:
        """The base URL requests are sent to; services with URL rules override it.

        Raises:
            ConfigurationError: No URL, or one that is not ``http(s)://``.
        """
        if not url:
            msg = f"No base_url for {self.name}"
            raise ConfigurationError(
                msg, hint=f"Pass base_url=... or set the {self.base_url_env} environment variable."
            )
        if not url.startswith(("http://", "https://")):
            msg = f"{self.name} base_url must start with http:// or https://, got {url[:8]!r}..."
            raise ConfigurationError(msg)
        return url.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """One client's resolved settings for one service.

    The key never shows in ``repr``; everything else does, so a settings
    record can be logged.
    """

    service: Service = field(repr=False)
    api_key: SecretStr | None = field(repr=False)
    base_url: str
    timeout: float | None = 60.0
    max_retries: int = 2
    default_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    http_client: httpx.Client | None = field(default=None, repr=False, compare=False)
    http_async_client: httpx.AsyncClient | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"Settings(service={self.service.name!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r})"
        )

    def key(self) -> str:
        """The key's plain value, for the client's authentication header only."""
        return self.service.key_of(self.api_key)

    def transport(
        self,
        auth_headers: Callable[[], dict[str, str]],
        *,
        gate: RequestGate | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> HTTPTransport:
        """The transport a client built from these settings sends through."""
        return HTTPTransport(
            self.service.name,
            self.base_url,
            auth_headers,
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
            http_client=self.http_client,
            http_async_client=self.http_async_client,
            gate=gate,
            status_hints=self.service.status_hints,
            retry=retry,
            sleep=sleep,
            asleep=asleep,
        )
