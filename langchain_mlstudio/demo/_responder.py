"""The emulated model's scripted answer for the demo: sentences picked from the tickets.

The emulator echoes a prompt by default; for the demo it answers instead with
the sentences of the retrieved tickets that share the most words with the
question (an extractive stand-in for a fine-tuned model, clearly marked as
emulated). Built on :mod:`langchain_mlstudio.emulator.responders`.
"""

from __future__ import annotations

import re

from langchain_mlstudio.emulator.responders import Rule, RuleTable, last_user_text

__all__ = ["EMULATED_MARK", "answer_from_tickets", "tickets_responder"]

#: How the answer says it is not a real model's.
EMULATED_MARK = "[emulated answer: sentences picked from the tickets]"

_PROMPT = re.compile(r"Tickets:\n(?P<context>.*)\n\nQuestion: (?P<question>.*)", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NAME = re.compile(r"<FULL_NAME_\d+_[A-Z0-9]+>")
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+_[A-Z0-9]+>")
_WHO = re.compile(r"(?i)\b(?:who|whose|customer|person)\b")
_STOP = frozenset(
    {"and", "the", "can", "how", "what", "which", "this", "that", "with", "for", "one", "say"}
)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOP}


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def answer_from_tickets(context: str, question: str, most: int = 2) -> str:
    r"""The ``most`` sentences of ``context`` closest to ``question``, in their order.

    A question about who (``"Which customer ..."``) also gets the sentence that
    names the customer, when the picked ones do not.

    Example:
        >>> context = ("Subject: Late parcel\nHello, my name is <FULL_NAME_1_AB>. "
        ...            "The parcel is late. Please send the refund to <IBAN_1_AB>.")
        >>> answer_from_tickets(context, "Which customer wants a refund?", most=1)
        'Hello, my name is <FULL_NAME_1_AB>. Please send the refund to <IBAN_1_AB>.'
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(context) if s.strip() not in ("", "---")]
    wanted = {_stem(w) for w in _words(question)}
    scores: list[float] = []
    for sentence in sentences:
        overlap = len(wanted & {_stem(w) for w in _words(sentence)})
        if sentence.startswith("Subject:"):
            overlap = 0  # a heading, not an answer (still the fallback of a summary)
        # Of two matching sentences, the one with specifics (a placeholder) answers better.
        scores.append(overlap + (0.5 if overlap and _PLACEHOLDER.search(sentence) else 0))
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    picked = {i for i in ranked[:most] if scores[i] > 0} or set(ranked[:1])
    if _WHO.search(question) and not any(_NAME.search(sentences[i]) for i in picked):
        named = next((i for i, s in enumerate(sentences) if _NAME.search(s)), None)
        if named is not None:
            picked.add(named)
    return " ".join(sentences[i] for i in sorted(picked))


def _is_ticket_prompt(conversation: list[dict[str, object]]) -> bool:
    return _PROMPT.search(last_user_text(conversation)) is not None


def _answer(conversation: list[dict[str, object]]) -> str:
    match = _PROMPT.search(last_user_text(conversation))
    assert match is not None  # noqa: S101 - the rule matched it
    return f"{EMULATED_MARK} {answer_from_tickets(match['context'], match['question'])}"


def tickets_responder() -> RuleTable:
    r"""The emulator's responder for the demo's prompt (other prompts are echoed).

    Example:
        >>> responder = tickets_responder()
        >>> responder([{"role": "user", "content": "Tickets:\nI want a refund.\n\n"
        ...             "Question: Who wants a refund?"}])
        '[emulated answer: sentences picked from the tickets] I want a refund.'
        >>> responder([{"role": "user", "content": "Hi"}]) is None
        True
    """
    return RuleTable([Rule(_is_ticket_prompt, _answer)])
