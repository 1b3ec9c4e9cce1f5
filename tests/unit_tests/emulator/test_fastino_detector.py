"""The emulated Fastino detector labels dates as dates and finds usernames."""

from __future__ import annotations

import pytest

from langchain_mlstudio.emulator.fastino import detect
from langchain_mlstudio.fastino.settings import DEFAULT_ENTITY_TYPES


def found(text: str, entity_types: list[str] | None = None) -> list[tuple[str, str]]:
    labels = list(DEFAULT_ENTITY_TYPES) if entity_types is None else entity_types
    return [(e["label"], e["text"]) for e in detect(text, labels)]


def test_an_order_date_is_labelled_a_date_not_a_date_of_birth() -> None:
    assert found("charged twice on 2026-11-03 for the plan") == [("date", "2026-11-03")]


@pytest.mark.parametrize(
    "text",
    ["born on 3 March 1990", "Date of birth: 1990-03-03", "DOB 03/03/1990", "birthday 1990-03-03"],
)
def test_a_date_after_a_birth_cue_is_a_date_of_birth(text: str) -> None:
    [(label, _)] = found(text)
    assert label == "date_of_birth"


def test_a_date_asked_for_as_date_is_labelled_date_even_when_a_birth_date() -> None:
    assert found("born 1990-03-03", ["date"]) == [("date", "1990-03-03")]


def test_both_labels_requested_each_date_gets_its_own() -> None:
    text = "Ordered 2026-11-03, born 1990-03-03"
    assert found(text, ["date", "date_of_birth"]) == [
        ("date", "2026-11-03"),
        ("date_of_birth", "1990-03-03"),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I only have one account (username priya_p).", "priya_p"),
        ("username: jamie", "jamie"),
        ("my user name is bob.", "bob"),
        ("handle @priya_p, thanks", "@priya_p"),
        ("Login priya.p.", "priya.p"),
    ],
)
def test_a_username_after_its_cue_is_detected(text: str, value: str) -> None:
    assert found(text) == [("username", value)]


def test_a_plain_word_after_login_is_not_a_username() -> None:
    assert found("login failed again") == []


def test_a_username_is_not_detected_when_not_asked_for() -> None:
    assert found("username priya_p", ["email"]) == []
