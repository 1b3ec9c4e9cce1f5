"""The demo's emulated model answers from the retrieved tickets, marked as emulated."""

from __future__ import annotations

from langchain_mlstudio.demo._responder import (
    EMULATED_MARK,
    answer_from_tickets,
    tickets_responder,
)

TICKET = (
    "Subject: Refund for a broken blender\n\n"
    "Hello, my name is <FULL_NAME_1_AB> and I ordered it on <DATE_1_AB>. It arrived broken.\n\n"
    "Please send the refund to my account, IBAN <IBAN_1_AB>.\n---\n"
    "I do not want a replacement, only the refund."
)


def test_the_answer_is_the_sentences_that_match_the_question_plus_who_asked() -> None:
    answer = answer_from_tickets(TICKET, "Which customer wants a refund, and how can we pay it?")
    assert answer == (
        "Hello, my name is <FULL_NAME_1_AB> and I ordered it on <DATE_1_AB>. "
        "Please send the refund to my account, IBAN <IBAN_1_AB>. "
        "I do not want a replacement, only the refund."
    )


def test_a_question_matching_nothing_gets_the_first_sentence() -> None:
    assert answer_from_tickets(TICKET, "Quantum chromodynamics?") == (
        "Subject: Refund for a broken blender"
    )


def test_a_question_not_about_who_gets_no_naming_sentence() -> None:
    assert answer_from_tickets(TICKET, "Did it arrive broken?") == "It arrived broken."


def test_the_responder_marks_its_answer_as_emulated() -> None:
    prompt = f"Tickets:\n{TICKET}\n\nQuestion: Did it arrive broken?"
    answer = tickets_responder()([{"role": "user", "content": prompt}])
    assert answer == f"{EMULATED_MARK} It arrived broken."


def test_other_prompts_are_left_to_the_echo() -> None:
    assert tickets_responder()([{"role": "user", "content": "Hello there"}]) is None
