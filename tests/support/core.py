"""Transports of a made-up service, for the tests of the shared HTTP layer.

:func:`make_transport` keeps the tests' ``(service, base_url, auth)`` way of
building a transport while going through the one configuration path
(:class:`~langchain_mlstudio._core._settings.Service` settings), and
:func:`request` / :func:`arequest` send one raw :class:`Call` whose result is
the decoded response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_mlstudio._core._calls import APIResponse, Call
from langchain_mlstudio._core._http import HTTPTransport
from langchain_mlstudio._core._settings import Service

__all__ = ["arequest", "make_transport", "raw", "request"]

_TRANSPORT_OPTIONS = frozenset({"gate", "retry", "sleep", "asleep"})


def make_transport(
    service: str,
    base_url: str,
    auth: Callable[[], dict[str, str]],
    *,
    status_hints: Mapping[int, str] | None = None,
    **options: Any,
) -> HTTPTransport:
    """A transport of ``service`` at ``base_url``; options go to its settings or the transport."""
    record = Service(service, "SVC_API_KEY", "SVC_BASE_URL", status_hints=dict(status_hints or {}))
    given = {name: value for name, value in options.items() if name not in _TRANSPORT_OPTIONS}
    settings = record.settings(base_url=base_url, require_key=False, **given)
    kept = {name: value for name, value in options.items() if name in _TRANSPORT_OPTIONS}
    return HTTPTransport(settings, auth, **kept)


def raw(method: str, path: str, **options: Any) -> Call[APIResponse]:
    """A call whose result is the decoded response itself."""
    if options.get("headers") is None:
        options.pop("headers", None)
    return Call(method, path, lambda response: response, **options)


def request(transport: HTTPTransport, method: str, path: str, **options: Any) -> APIResponse:
    """Send one raw call and return the decoded response."""
    return transport.call(raw(method, path, **options))


async def arequest(transport: HTTPTransport, method: str, path: str, **options: Any) -> APIResponse:
    """Async twin of :func:`request`."""
    return await transport.acall(raw(method, path, **options))
