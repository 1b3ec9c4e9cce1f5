"""The demo's own pieces: shipped data, splitting, retrieval, backend choice, output."""

from __future__ import annotations

import io

import pytest
from langchain_core.documents import Document

from langchain_mlstudio.demo import load_documents, retrieve, split_documents
from langchain_mlstudio.demo._app import explain_failure
from langchain_mlstudio.demo._backends import uses_real_services
from langchain_mlstudio.demo._printer import Printer, shorten
from langchain_mlstudio.errors import APIConnectionError, PIIDetectionError


def test_shipped_tickets_load_in_name_order_with_ids_and_sources() -> None:
    docs = load_documents()
    assert [d.id for d in docs] == sorted(d.id for d in docs)
    assert all(d.metadata["source"] == f"{d.id}.txt" for d in docs)
    assert any("Maria Garcia" in d.page_content for d in docs)  # they hold personal data


def test_split_keeps_offsets_metadata_and_size() -> None:
    text = "Para one is short.\n\nPara two. " + "Long sentence here. " * 30 + "\n\nLast."
    doc = Document(text, id="d", metadata={"source": "s"})
    chunks = split_documents([doc], max_chars=120)
    assert len(chunks) > 3
    for number, chunk in enumerate(chunks):
        start = chunk.metadata["start"]
        assert text[start : start + len(chunk.page_content)] == chunk.page_content
        assert len(chunk.page_content) <= 120
        assert chunk.metadata == {"source": "s", "parent_id": "d", "chunk": number, "start": start}
        assert chunk.id == f"d#{number}"
    assert chunks[-1].page_content.endswith("Last.")


def test_split_packs_short_paragraphs_together() -> None:
    [chunk] = split_documents([Document("a b\n\nc d\n\ne f", id="x")], max_chars=100)
    assert chunk.page_content == "a b\n\nc d\n\ne f"


def test_retrieve_ranks_by_shared_words_and_keeps_order_on_ties() -> None:
    chunks = [Document("parcel late"), Document("refund please refund"), Document("parcel again")]
    assert [c.page_content for c in retrieve("parcel refund status", chunks, k=3)] == [
        "parcel late",
        "refund please refund",
        "parcel again",
    ]
    assert retrieve("refund", chunks, k=1)[0].page_content == "refund please refund"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"chat model": False, "Fastino": False, "FyreToolkit": False}),
        (
            {"IONOS_MODEL_STUDIO_API_KEY": "k"},
            {"chat model": True, "Fastino": False, "FyreToolkit": False},
        ),
        (
            {"FASTINO_API_KEY": "k", "FYRETOOLKIT_API_KEY": "k"},
            {"chat model": False, "Fastino": True, "FyreToolkit": True},
        ),
        ({"FASTINO_API_KEY": ""}, {"chat model": False, "Fastino": False, "FyreToolkit": False}),
    ],
)
def test_each_service_is_real_only_when_its_key_is_set(
    env: dict[str, str], expected: dict[str, bool]
) -> None:
    assert uses_real_services(env) == expected


def test_progress_prints_only_the_finished_bar_when_not_a_terminal() -> None:
    out = io.StringIO()
    printer = Printer(out)
    for done in range(4):
        printer.progress("Fastino", done, 3)
    assert out.getvalue() == "    Fastino [########################] 3/3\n"


def test_shorten_flattens_and_cuts() -> None:
    assert shorten("a\n\nb   c") == "a b c"
    assert shorten("abcdef", 4) == "abc…"


def test_failure_explanation_names_the_first_cause_of_a_pii_failure() -> None:
    cause = APIConnectionError("Could not reach Fastino")
    err = PIIDetectionError("PII detection failed", document_ids=["t#0"], causes={"t#0": cause})
    text = explain_failure(err)
    assert text.startswith("PIIDetectionError: PII detection failed")
    assert "first cause (t#0): APIConnectionError: Could not reach Fastino" in text
