from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_mlstudio.fastino import FastinoEntity
from langchain_mlstudio.fastino.chunking import Chunk, chunk_text, count_words
from langchain_mlstudio.fastino.offsets import SpanError
from langchain_mlstudio.fastino.spans import (
    Span,
    find_other_occurrences,
    locate,
    resolve_overlaps,
)

words = st.text(alphabet="abcXYZ", min_size=1, max_size=15)
separators = st.sampled_from([" ", "  ", "\n", "\t "])


@given(
    pieces=st.lists(st.tuples(words, separators), min_size=1, max_size=60),
    chunk_size=st.integers(5, 150),
    data=st.data(),
)
def test_chunks_fit_point_at_the_text_and_cover_every_character(
    pieces: list[tuple[str, str]], chunk_size: int, data: st.DataObject
) -> None:
    text = "".join(w + s for w, s in pieces)
    overlap = data.draw(st.integers(0, chunk_size - 1))
    chunks = chunk_text(text, chunk_size, overlap)
    covered: set[int] = set()
    for chunk in chunks:
        assert len(chunk.text) <= chunk_size
        assert text[chunk.offset : chunk.offset + len(chunk.text)] == chunk.text
        covered.update(range(chunk.offset, chunk.offset + len(chunk.text)))
    assert all(i in covered or text[i].isspace() for i in range(len(text)))


@given(
    names=st.lists(st.sampled_from(["Jamie Derran", "Anna Rossi"]), min_size=1),
    filler=st.lists(st.text(alphabet="abc", min_size=1, max_size=8), min_size=30),
)
def test_every_short_value_appears_whole_in_some_chunk(names: list[str], filler: list[str]) -> None:
    parts: list[str] = []
    for i, word in enumerate(filler):
        parts.append(word)
        if i % 7 == 3:
            parts.append(names[i % len(names)])
    text = " ".join(parts)
    chunks = chunk_text(text, 60, 20)
    for name in names:
        for pos in _positions(text, name):
            assert any(
                c.offset <= pos and pos + len(name) <= c.offset + len(c.text) for c in chunks
            )


def _positions(text: str, value: str) -> list[int]:
    out, i = [], text.find(value)
    while i >= 0:
        out.append(i)
        i = text.find(value, i + 1)
    return out


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("short text", 100, 10) == [Chunk(0, "short text")]


def test_text_without_whitespace_is_cut_hard() -> None:
    chunks = chunk_text("x" * 25, 10, 3)
    assert all(len(c.text) <= 10 for c in chunks)
    assert chunks[-1].offset + len(chunks[-1].text) == 25


def test_invalid_overlap_is_rejected() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_text("abc", 10, 10)


def test_locate_shifts_offsets_by_the_chunk_offset() -> None:
    entity = FastinoEntity(start=3, end=8, label="full_name", text="Jamie", score=0.9)
    assert locate(Chunk(100, "Hi Jamie"), entity) == Span(103, 108, "full_name", 0.9)


def test_locate_refuses_offsets_that_fit_no_convention() -> None:
    # Changed by issue 9: guessing the nearest occurrence let two entities land
    # on one occurrence; offsets that fit no reading now fail closed.
    chunk = Chunk(0, "Jamie and Jamie again")
    entity = FastinoEntity(start=8, end=13, label="full_name", text="Jamie")
    with pytest.raises(SpanError, match="no convention"):
        locate(chunk, entity)


def test_locate_fails_when_the_value_is_not_in_the_text() -> None:
    entity = FastinoEntity(start=0, end=5, label="full_name", text="Maria")
    with pytest.raises(SpanError) as info:
        locate(Chunk(0, "Hi Jamie"), entity)
    assert "Maria" not in str(info.value)


def test_locate_fails_on_an_empty_value() -> None:
    with pytest.raises(SpanError):
        locate(Chunk(0, "abc"), FastinoEntity(start=0, end=0, label="x", text=""))


def test_duplicates_from_overlapping_chunks_merge_keeping_the_best_score() -> None:
    spans = [Span(10, 20, "full_name", 0.8), Span(10, 20, "full_name", 0.9)]
    assert resolve_overlaps(spans) == [Span(10, 20, "full_name", 0.9)]


def test_overlap_is_labelled_by_the_longest_then_highest_score() -> None:
    spans = [
        Span(0, 10, "full_name", 0.7),
        Span(0, 4, "first_name", 0.99),
        Span(20, 25, "a", 0.5),
        Span(20, 25, "b", 0.6),
    ]
    assert resolve_overlaps(spans) == [
        Span(0, 10, "full_name", 0.7),
        Span(20, 25, "b", 0.6),
    ]


def test_partial_overlap_covers_the_union_so_nothing_leaks() -> None:
    resolved = resolve_overlaps([Span(0, 8, "a", 0.9), Span(5, 12, "b", 0.5)])
    assert resolved == [Span(0, 12, "a", 0.9)]


def test_other_whole_word_occurrences_are_found() -> None:
    text = "Ann wrote. Later Ann called Annette."
    extra = find_other_occurrences(text, [Span(0, 3, "full_name", 0.9)])
    assert extra == [Span(17, 20, "full_name", 0.9)]


def test_loaded_mapping_with_a_raw_label_keeps_numbering_and_values() -> None:
    from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer

    # Changed by issue 9: new tokens carry the mapping's namespace; an old
    # (version 1) file's tokens still load and restore.
    p = Pseudonymizer.from_dict(
        {"entries": [{"label": "full_name", "value": "Jamie Derran", "token": "<FULL_NAME_1>"}]},
        namespace="NS",
    )
    assert p.token("full_name", "Anna Rossi") == "<FULL_NAME_1_NS>"
    assert p.token("full name", "Jamie Derran") == "<FULL_NAME_1>"
    assert len(p) == 2
    assert p.restore("<FULL_NAME_1> and <FULL_NAME_1_NS>") == "Jamie Derran and Anna Rossi"


dense_words = st.text(alphabet='abXY{}[]":,.@-_0123456789', min_size=1, max_size=12)


@given(
    pieces=st.lists(st.tuples(dense_words, separators), min_size=1, max_size=80),
    chunk_size=st.integers(20, 200),
    chunk_words=st.integers(4, 60),
    data=st.data(),
)
def test_chunks_fit_both_bounds_cover_the_text_and_start_at_a_word(
    pieces: list[tuple[str, str]], chunk_size: int, chunk_words: int, data: st.DataObject
) -> None:
    text = "".join(w + s for w, s in pieces)
    overlap = data.draw(st.integers(0, chunk_size - 1))
    overlap_words = data.draw(st.integers(0, chunk_words - 1))
    chunks = chunk_text(
        text, chunk_size, overlap, chunk_words=chunk_words, chunk_overlap_words=overlap_words
    )
    covered: set[int] = set()
    oversized = {  # whitespace-free runs longer than a chunk may be cut anywhere
        i
        for m in re.finditer(r"\S+", text)
        if m.end() - m.start() > chunk_size or count_words(m.group()) > chunk_words
        for i in range(m.start(), m.end())
    }
    for chunk in chunks:
        assert len(chunk.text) <= chunk_size
        assert count_words(chunk.text) <= chunk_words
        assert text[chunk.offset : chunk.offset + len(chunk.text)] == chunk.text
        starts_a_word = chunk.offset == 0 or text[chunk.offset - 1].isspace()
        assert starts_a_word or chunk.offset in oversized
        covered.update(range(chunk.offset, chunk.offset + len(chunk.text)))
    assert all(i in covered or text[i].isspace() for i in range(len(text)))
