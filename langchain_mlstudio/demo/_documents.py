"""The demo's documents: the shipped support tickets, a splitter and a tiny retriever."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from langchain_core.documents import Document

__all__ = ["load_documents", "retrieve", "split_documents"]


def load_documents() -> list[Document]:
    """The sample support tickets shipped with the package, one document each.

    Example:
        >>> docs = load_documents()
        >>> len(docs), docs[0].id
        (5, 'ticket_01_refund')
    """
    folder = resources.files("langchain_mlstudio.demo") / "data"
    docs = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            name = entry.name.removesuffix(".txt")
            text = entry.read_text(encoding="utf-8").strip()
            docs.append(Document(text, id=name, metadata={"source": entry.name}))
    return docs


def split_documents(documents: Sequence[Document], max_chars: int = 300) -> list[Document]:
    r"""Split each document at blank lines into chunks of at most about ``max_chars``.

    Paragraphs are packed together while they fit; a longer paragraph is cut at
    sentence ends. Each chunk keeps its document's metadata plus ``parent_id``,
    ``chunk`` (its number) and ``start`` (its offset in the document).

    Example:
        >>> doc = Document("First part.\n\nSecond part.", id="d")
        >>> [(c.page_content, c.metadata["start"]) for c in split_documents([doc], 12)]
        [('First part.', 0), ('Second part.', 13)]
    """
    chunks: list[Document] = []
    for doc in documents:
        text = doc.page_content
        pieces: list[tuple[int, int]] = []  # (start, end) of sentences/paragraphs
        for para in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*$)", text, flags=re.DOTALL):
            if para.end() - para.start() <= max_chars:
                pieces.append((para.start(), para.end()))
                continue
            for sentence in re.finditer(r"\S.*?(?:[.!?](?=\s)|$)", para.group(), flags=re.DOTALL):
                pieces.append((para.start() + sentence.start(), para.start() + sentence.end()))
        start = end = None
        spans: list[tuple[int, int]] = []
        for piece_start, piece_end in pieces:
            if start is not None and end is not None and piece_end - start <= max_chars:
                end = piece_end
                continue
            if start is not None and end is not None:
                spans.append((start, end))
            start, end = piece_start, piece_end
        if start is not None and end is not None:
            spans.append((start, end))
        for number, (span_start, span_end) in enumerate(spans):
            chunks.append(
                Document(
                    text[span_start:span_end],
                    id=f"{doc.id}#{number}",
                    metadata={
                        **doc.metadata,
                        "parent_id": doc.id,
                        "chunk": number,
                        "start": span_start,
                    },
                )
            )
    return chunks


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


def retrieve(question: str, chunks: Sequence[Document], k: int = 2) -> list[Document]:
    """The ``k`` chunks sharing the most words with the question (a tiny retriever).

    Example:
        >>> chunks = [Document("The parcel is late"), Document("I want a refund now")]
        >>> retrieve("Who wants a refund?", chunks, k=1)[0].page_content
        'I want a refund now'
    """
    wanted = _words(question)
    scored = sorted(
        enumerate(chunks), key=lambda item: (-len(wanted & _words(item[1].page_content)), item[0])
    )
    return [chunk for _, chunk in scored[:k]]
