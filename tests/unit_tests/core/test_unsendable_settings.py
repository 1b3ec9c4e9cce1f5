"""A value no HTTP request can carry is blamed on the setting or field it is in.

A key pasted as the emulator's old banner showed it (``de…ey``), or read from a
file with its line break, used to fail as "the request text contains a lone
surrogate", a generic PII error, a connection error after retries, or a 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_mlstudio import (
    ChatIonosModelStudio,
    ChatModelStudio,
    ConfigurationError,
    FastinoClient,
    FyreToolkitClient,
    InvalidInputError,
)
from langchain_mlstudio._core._http import HTTPTransport
from tests.support.core import make_transport, request

PASTED = "<your --api-key, de…ey>"  # what the emulator's banner used to print
BAD_KEYS = {
    "an ellipsis": ("de…ey", "U+2026"),
    "a trailing line break": ("sk-live-1234\n", "U+000A"),
    "a space around it": (" sk-live-1234", "start or end"),
    "a NUL": ("sk-\x00live", "U+0000"),
}


class Counting:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(200, json={})


def mock(server: Counting) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(server))


def build_chat(key: str, server: Counting) -> Callable[[], Any]:
    def run() -> Any:
        llm = ChatModelStudio(
            model="m",
            api_key=key,
            organization_id="o",
            base_url="http://s.test",
            http_client=mock(server),
        )
        return llm.invoke("hi")

    return run


def build_fastino(key: str, server: Counting) -> Callable[[], Any]:
    def run() -> Any:
        client = FastinoClient(api_key=key, base_url="http://f.test", http_client=mock(server))
        return client.run("fastino-pii", ["Call Mary Smith"])

    return run


def build_fyretoolkit(key: str, server: Counting) -> Callable[[], Any]:
    def run() -> Any:
        client = FyreToolkitClient(api_key=key, base_url="http://y.test", http_client=mock(server))
        return client.predict("sentiment-v1", ["ok"])

    return run


BUILDERS = {
    "chat model": (build_chat, "MODELSTUDIO_API_KEY"),
    "fastino": (build_fastino, "FASTINO_API_KEY"),
    "fyretoolkit": (build_fyretoolkit, "FYRETOOLKIT_API_KEY"),
}


@pytest.mark.parametrize("service", BUILDERS)
@pytest.mark.parametrize("case", BAD_KEYS)
def test_a_mangled_key_is_a_configuration_error_naming_the_key_before_anything_is_sent(
    service: str, case: str
) -> None:
    key, shown = BAD_KEYS[case]
    build, env_var = BUILDERS[service]
    server = Counting()
    with pytest.raises(ConfigurationError) as info:
        build(key, server)()
    text = str(info.value)
    assert "api_key" in text
    assert env_var in text
    assert shown in text
    assert "surrogate" not in text
    assert "live" not in text  # never the key itself
    assert server.requests == 0


def test_a_key_pasted_from_the_old_banner_names_the_variable_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IONOS_MODEL_STUDIO_API_KEY", PASTED)
    monkeypatch.setenv("IONOS_MODEL_STUDIO_ORGANIZATION_ID", "org")
    with pytest.raises(ConfigurationError) as info:
        ChatIonosModelStudio(model="m")
    assert "IONOS_MODEL_STUDIO_API_KEY" in str(info.value)
    assert "U+2026 HORIZONTAL ELLIPSIS" in str(info.value)
    assert "troubleshooting" in str(info.value)


def transport(server: Counting, auth: dict[str, str], **kwargs: Any) -> HTTPTransport:
    return make_transport(
        "Svc", "https://svc.test", lambda: auth, http_client=mock(server), **kwargs
    )


def test_an_unsendable_auth_header_is_a_configuration_error_naming_the_header() -> None:
    server = Counting()
    t = transport(server, {"Authorization": "Bearer de…ey"})
    with pytest.raises(ConfigurationError) as info:
        request(t, "GET", "/x")
    assert "API key for Svc (sent in the Authorization header)" in str(info.value)
    assert "de…ey" not in str(info.value)
    assert server.requests == 0


def test_an_unsendable_default_header_is_a_configuration_error_naming_it() -> None:
    server = Counting()
    t = transport(server, {}, default_headers={"X-Team": "Équipe"})
    with pytest.raises(ConfigurationError) as info:
        request(t, "GET", "/x")
    assert "default_headers['X-Team']" in str(info.value)
    assert server.requests == 0


def test_an_unsendable_request_header_is_an_input_error_naming_it() -> None:
    server = Counting()
    t = transport(server, {})
    with pytest.raises(InvalidInputError) as info:
        request(t, "POST", "/x", headers={"Idempotency-Key": "order\n42"})
    assert "Idempotency-Key header" in str(info.value)
    assert server.requests == 0


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"path": "/jobs/caf\udce9"}, "the URL path"),
        ({"path": "/x", "json_body": {"text": "caf\udce9"}}, "the request body"),
        ({"path": "/x", "params": {"q": "caf\udce9"}}, "the query parameters"),
    ],
)
def test_a_lone_surrogate_is_blamed_on_the_field_it_is_in(
    kwargs: dict[str, Any], where: str
) -> None:
    server = Counting()
    t = transport(server, {})
    path = kwargs.pop("path")
    with pytest.raises(InvalidInputError) as info:
        request(t, "POST", path, **kwargs)
    assert where in str(info.value)
    str(info.value).encode("utf-8")  # the message itself can be printed
    assert server.requests == 0
