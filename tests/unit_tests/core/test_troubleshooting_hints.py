"""Error hints point at troubleshooting sections that exist."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from langchain_mlstudio import AuthenticationError, FastinoClient
from langchain_mlstudio._core._errors import TROUBLESHOOTING, error_from_response

ROOT = Path(__file__).resolve().parents[3]
PAGE = (ROOT / TROUBLESHOOTING).read_text(encoding="utf-8")
ANCHORS = set(re.findall(r"^#+ .*\{ #([a-z0-9-]+) \}$", PAGE, re.MULTILINE))


def response(status: int) -> httpx.Response:
    request = httpx.Request("POST", "https://svc.test/api/v1/organizations/o/generate")
    return httpx.Response(status, json={"detail": "no"}, request=request)


@pytest.mark.parametrize(
    ("status", "section"), [(401, "status-401"), (403, "status-403"), (429, "status-429")]
)
def test_statuses_a_newcomer_meets_point_at_their_section(status: int, section: str) -> None:
    err = error_from_response(response(status), "Svc")
    assert section in ANCHORS
    assert f"{TROUBLESHOOTING}#{section}" in str(err)
    assert err.hint.startswith(type(err).default_hint)  # the class's own advice stays


def test_a_service_hint_keeps_its_advice_and_gains_the_pointer() -> None:
    err = error_from_response(response(401), "Fastino", hint="Wait a minute.")
    assert err.hint == f"Wait a minute. Troubleshooting: {TROUBLESHOOTING}#status-401."


def test_a_new_fastino_key_401_says_to_wait_and_where_to_read_more() -> None:
    client = FastinoClient(
        api_key="k",
        base_url="http://f.test",
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401))),
    )
    with pytest.raises(AuthenticationError) as info:
        client.run("fastino-pii", ["hi"])
    assert "about a minute" in str(info.value)
    assert "troubleshooting.md#status-401" in str(info.value)


def test_other_statuses_get_no_pointer() -> None:
    err = error_from_response(response(400), "Svc")
    assert TROUBLESHOOTING not in str(err)


def test_every_pointer_in_the_package_names_an_existing_section() -> None:
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "langchain_mlstudio").rglob("*.py")
    )
    used = set(re.findall(r"troubleshooting\(\s*['\"]([a-z0-9-]+)['\"]\s*\)", sources))
    used |= set(re.findall(r'"(status-\d+)"', sources))
    assert {"pasted-key", "base-url", "proxies-and-timeouts", "status-401"} <= used
    assert used <= ANCHORS, f"no such section: {used - ANCHORS}"
