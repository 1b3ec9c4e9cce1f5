"""Redaction under hostile placement: values planted at random positions, on chunk
boundaries, overlapping each other and glued together.

A socket-free fake Fastino (``httpx.MockTransport``) reports every occurrence of
every planted value inside each chunk it is sent (overlapping occurrences too,
sometimes with wrong offsets). For every strategy:

* every planted value is reported (values are never longer than the overlap);
* ``pii_entities`` offsets point at the original text, sorted and disjoint;
* ``restore(pseudonymize(text)) == text``;
* with right offsets, no value the detector reported survives anywhere in the
  output, and the entities cover every occurrence of every value.

Values use upper-case letters that no placeholder (``<SECRET_1>``,
``<PIN_3f9a0c1e>``), mask or filler character contains, so a value can only
appear in the output if it was left there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document

from langchain_mlstudio.fastino import FastinoClient, FastinoPIITransformer

VALUE_LETTERS = "ABDFGHJKLMOQUVWXYZ"  # none of S E C R T P I N (the labels' letters)
FILLER = "abcdefghijklmnopqrstuvwxyz0123456789 .,;:!?-\n\téßü中🙂"
LABELS = ("secret", "pin")
STRATEGIES = ("redact", "mask", "hash", "pseudonymize")

words = st.text(VALUE_LETTERS, min_size=2, max_size=6)
values = st.one_of(words, st.tuples(words, words).map(" ".join))


@st.composite
def planted_texts(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A text and the planted values, each with its label."""
    vocabulary: dict[str, str] = {}
    pieces: list[str] = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["filler", "value", "overlap", "glued", "dense"]))
        if kind == "filler":
            pieces.append(draw(st.text(FILLER, min_size=1, max_size=60)))
            continue
        if kind == "value":
            found = [draw(values)]
            planted = found[0]
        elif kind == "overlap":  # two values sharing characters: "QWX" + "XZJ" as "QWXZJ"
            whole = draw(st.text(VALUE_LETTERS, min_size=4, max_size=12))
            cut = draw(st.integers(2, len(whole) - 1))
            back = draw(st.integers(1, cut - 1))
            found = [whole[:cut], whole[back:]]
            planted = whole
        elif kind == "glued":  # two values glued together with no separator
            found = [draw(values), draw(values)]
            planted = "".join(found)
        else:  # many two-word values in a row: chunks get cut between their words
            found = draw(st.lists(st.tuples(words, words).map(" ".join), min_size=3, max_size=10))
            planted = " ".join(found)
        for value in found:
            vocabulary.setdefault(value, draw(st.sampled_from(LABELS)))
        pieces.append(planted)
    separators = draw(
        st.lists(st.sampled_from(["", " ", "\n"]), min_size=len(pieces), max_size=len(pieces))
    )
    text = "".join(p + s for p, s in zip(pieces, separators, strict=True))
    return text, vocabulary


@dataclass
class FakeDetector:
    """Reports every occurrence of every vocabulary value in each text it gets."""

    vocabulary: dict[str, str]
    wrong_offsets: bool
    reported: set[str] = field(default_factory=set)

    def entities(self, text: str) -> list[dict[str, Any]]:
        found = []
        for value, label in self.vocabulary.items():
            for match in re.finditer(f"(?=({re.escape(value)}))", text):
                start = match.start()
                shift = 1 if self.wrong_offsets and start % 2 else 0
                found.append(
                    {
                        "start": start + shift,
                        "end": start + shift + len(value),
                        "label": label,
                        "text": value,
                        "score": 0.9,
                    }
                )
                self.reported.add(value)
        return found

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json=[
                {
                    "input": i["text"],
                    "status": "success",
                    "output": {"entities": self.entities(i["text"])},
                }
                for i in body["input"]
            ],
        )


def transformer(
    detector: FakeDetector, strategy: str, chunk_size: int, batch_size: int
) -> FastinoPIITransformer:
    client = FastinoClient(
        api_key="k",
        base_url="http://fastino.test",
        batch_size=batch_size,
        requests_per_second=1e6,
        http_client=httpx.Client(transport=httpx.MockTransport(detector)),
    )
    return FastinoPIITransformer(
        client=client,
        strategy=strategy,
        chunk_size=chunk_size,
        chunk_overlap=30,  # longer than any planted value (at most 13 characters)
        include_values=True,
        entity_types=None,
        max_concurrency=1,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    planted=planted_texts(),
    strategy=st.sampled_from(STRATEGIES),
    chunk_size=st.integers(50, 140),
    batch_size=st.integers(1, 4),
    wrong_offsets=st.booleans(),
)
def test_no_reported_value_survives_and_offsets_point_at_the_original(
    planted: tuple[str, dict[str, str]],
    strategy: str,
    chunk_size: int,
    batch_size: int,
    wrong_offsets: bool,
) -> None:
    text, vocabulary = planted
    detector = FakeDetector(vocabulary, wrong_offsets)
    pii = transformer(detector, strategy, chunk_size, batch_size)

    [doc] = pii.transform_documents([Document(text, id="d")])

    assert detector.reported == set(vocabulary)  # chunk boundaries hide nothing
    entities = doc.metadata["pii_entities"]
    covered: set[int] = set()
    previous_end = 0
    for entity in entities:  # sorted, disjoint, and pointing at the original text
        assert previous_end <= entity["start"] < entity["end"] <= len(text)
        assert text[entity["start"] : entity["end"]] == entity["text"]
        covered.update(range(entity["start"], entity["end"]))
        previous_end = entity["end"]
    if not wrong_offsets:
        # With wrong offsets on a value that occurs several times, no client can
        # tell which occurrence the model meant; with right ones, nothing escapes.
        for value in detector.reported:
            assert value not in doc.page_content, (value, strategy, doc.page_content)
        for value in vocabulary:
            for match in re.finditer(f"(?=({re.escape(value)}))", text):
                assert set(range(match.start(), match.start() + len(value))) <= covered
    if strategy == "pseudonymize":
        assert pii.restore(doc.page_content) == text
