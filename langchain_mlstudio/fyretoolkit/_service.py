"""FyreToolkit's configuration: its environment variables, its URL rules, its advice.

:data:`FYRETOOLKIT` is the service record
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` resolves its
settings with. FyreToolkit has no public host, so a base URL is required;
its auth is Basic with the key as user name, so a key written into the URL
(``https://sk_live_...@host``) is taken out of it and used as the key.

Example:
    >>> settings = FYRETOOLKIT.settings(base_url="https://sk_live_x:@fyre.example/v1")
    >>> settings.base_url, settings.key()
    ('https://fyre.example/v1', 'sk_live_x')
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import SecretStr

from langchain_mlstudio._core._settings import Service, Settings
from langchain_mlstudio.errors import ConfigurationError

__all__ = ["API_KEY_ENV", "BASE_URL_ENV", "FYRETOOLKIT", "FyreToolkitService", "split_credentials"]

SERVICE = "FyreToolkit"
API_KEY_ENV = "FYRETOOLKIT_API_KEY"
BASE_URL_ENV = "FYRETOOLKIT_BASE_URL"

STATUS_HINTS = {
    401: (
        "FyreToolkit uses HTTP Basic auth with the API key as user name and an "
        f"empty password; check api_key / {API_KEY_ENV}."
    ),
    404: ("Check the id: list_models() and list_deployments() show what your key can use."),
    409: "Read the resource's current state (get_job / get_model) before retrying.",
    422: "The request was understood but its values were rejected; see details.",
}


def split_credentials(url: str | None) -> tuple[str | None, str | None]:
    """``url`` without user info, and the user name it carried (the API key).

    FyreToolkit's auth is Basic with the key as user name, so
    ``https://sk_live_...@host`` is a key written into the URL. It is taken
    out so that it never reaches an error message, a log line, ``repr`` or a
    tool's output, and used as the key when no ``api_key`` is given.

    Example:
        >>> split_credentials("https://sk_live_x:@fyre.example/v1")
        ('https://fyre.example/v1', 'sk_live_x')
        >>> split_credentials("http://127.0.0.1:8765")
        ('http://127.0.0.1:8765', None)
    """
    if not url or "@" not in url:
        return url, None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        msg = f"{SERVICE} base_url is not a valid URL"
        raise ConfigurationError(msg) from None
    if not parsed.userinfo:
        return url, None
    user = parsed.username or None
    clean = str(parsed.copy_with(username=None, password=None))
    if not url.endswith("/") and clean.endswith("/") and parsed.raw_path == b"/":
        clean = clean[:-1]
    return clean, user


class FyreToolkitService(Service):
    """The FyreToolkit service record: no default host, credentials out of the URL."""

    def settings(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> Settings:
        """:meth:`Service.settings`, taking a key written into the base URL as the key.

        The key argument comes first, then ``FYRETOOLKIT_API_KEY``, then the
        URL's user name.
        """
        url, url_key = split_credentials(base_url or os.environ.get(self.base_url_env) or None)
        if api_key is None:
            api_key = os.environ.get(self.api_key_env) or url_key
        return super().settings(api_key=api_key, base_url=url, **options)

    def api_root(self, url: str | None) -> str:
        """The base URL without credentials; there is no public default to fall back to."""
        clean, _key = split_credentials(url)
        if not clean:
            msg = f"No base_url for {self.name}"
            raise ConfigurationError(
                msg,
                hint=(
                    f"FyreToolkit has no public default host: pass base_url=... "
                    f"or set the {self.base_url_env} environment variable."
                ),
            )
        return super().api_root(clean)


#: The FyreToolkit service: its variables, no default host, and advice per status.
FYRETOOLKIT = FyreToolkitService(
    SERVICE, API_KEY_ENV, BASE_URL_ENV, default_base_url=None, status_hints=STATUS_HINTS
)
