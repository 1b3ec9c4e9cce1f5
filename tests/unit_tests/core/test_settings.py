"""One configuration path: argument, else environment variable, else default; checked."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from langchain_mlstudio import ConfigurationError
from langchain_mlstudio._core._settings import Service

SECRET = "sk-settings-never-shown"
EXAMPLE = Service(
    "Example",
    "EXAMPLE_API_KEY",
    "EXAMPLE_BASE_URL",
    default_base_url="https://api.example.invalid",
    status_hints={401: "Check EXAMPLE_API_KEY."},
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXAMPLE_API_KEY", raising=False)
    monkeypatch.delenv("EXAMPLE_BASE_URL", raising=False)


def test_an_argument_wins_over_its_variable_which_wins_over_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert EXAMPLE.settings(api_key="k").base_url == "https://api.example.invalid"
    monkeypatch.setenv("EXAMPLE_BASE_URL", "https://env.example/")
    monkeypatch.setenv("EXAMPLE_API_KEY", "from-env")
    from_env = EXAMPLE.settings()
    assert from_env.base_url == "https://env.example"
    assert from_env.key() == "from-env"
    given = EXAMPLE.settings(api_key=SecretStr("arg"), base_url="https://arg.example")
    assert (given.key(), given.base_url) == ("arg", "https://arg.example")


def test_a_missing_key_names_its_variable_unless_it_is_checked_later() -> None:
    with pytest.raises(ConfigurationError, match="EXAMPLE_API_KEY"):
        EXAMPLE.settings()
    lazy = EXAMPLE.settings(require_key=False)
    with pytest.raises(ConfigurationError, match="EXAMPLE_API_KEY"):
        lazy.key()


@pytest.mark.parametrize("url", ["ftp://files.example", "api.example.invalid"])
def test_a_base_url_that_is_not_http_is_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        EXAMPLE.settings(api_key="k", base_url=url)


def test_a_service_without_a_public_host_needs_a_base_url() -> None:
    private = Service("Private", "EXAMPLE_API_KEY", "EXAMPLE_BASE_URL")
    with pytest.raises(ConfigurationError, match="EXAMPLE_BASE_URL"):
        private.settings(api_key="k")


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        EXAMPLE.settings(api_key="k", max_retries=-1)


def test_the_key_never_shows_in_repr() -> None:
    settings = EXAMPLE.settings(api_key=SECRET, default_headers={"X-Team": "a"})
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in repr(settings.api_key)


def test_the_transport_carries_every_setting_and_the_services_hints() -> None:
    client = httpx.Client()
    settings = EXAMPLE.settings(
        api_key="k",
        timeout=3.0,
        max_retries=5,
        default_headers={"X-Team": "a"},
        http_client=client,
    )
    transport = settings.transport(lambda: {"x-api-key": settings.key()})
    assert transport.service == "Example"
    assert transport.base_url == "https://api.example.invalid"
    assert (transport.timeout, transport.retry.max_retries) == (3.0, 5)
    assert transport.client is client
    assert transport.status_hints == {401: "Check EXAMPLE_API_KEY."}
    assert transport.headers()["X-Team"] == "a"
    assert transport.headers()["x-api-key"] == "k"


class RootOnly(Service):
    def api_root(self, url: str | None) -> str:
        return super().api_root(url).removesuffix("/api/v1")


def test_a_service_can_normalise_its_base_url() -> None:
    studio = RootOnly("Studio", "EXAMPLE_API_KEY", "EXAMPLE_BASE_URL", "https://studio.example")
    settings = studio.settings(api_key="k", base_url="https://studio.example/api/v1/")
    assert settings.base_url == "https://studio.example"
