"""Shared machinery: HTTP, retries, polling, limits and settings helpers.

Every service module of the package sends its requests through
:class:`~langchain_mlstudio._core._http.HTTPTransport`.
"""

__all__: list[str] = []
