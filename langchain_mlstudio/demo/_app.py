"""The end-to-end demo: redact whole documents, split, retrieve, answer, restore, score.

Run it with ``python -m langchain_mlstudio.demo`` or ``langchain-mlstudio-demo``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TextIO

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_mlstudio.demo._backends import build_backends
from langchain_mlstudio.demo._documents import load_documents, retrieve, split_documents
from langchain_mlstudio.demo._job_progress_bar import JobProgressBar
from langchain_mlstudio.demo._printer import Printer, shorten
from langchain_mlstudio.errors import MLStudioError, PIIDetectionError

__all__ = [
    "StageError",
    "build_parser",
    "explain_failure",
    "main",
    "run",
    "stage",
]

DEFAULT_QUESTION = "Which customer wants a refund, and how can we pay it?"
SUMMARY_QUESTION = "Summarise this ticket in one sentence and say what the customer needs."

PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+_[A-Z0-9]+>")

SYSTEM_PROMPT = (
    "You are a customer-support lead. Answer only from the tickets below. Personal data "
    "has been replaced by placeholders such as <FULL_NAME_1_K7Q2X>: quote them exactly."
)


class StageError(Exception):
    """A stage failed; carries the stage's name."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage}: {cause}")


@contextmanager
def stage(printer: Printer, title: str) -> Iterator[None]:
    """Print a stage header and tag any failure inside it with the stage."""
    printer.stage(title)
    start = time.perf_counter()
    try:
        yield
    except StageError:
        raise
    except Exception as exc:
        raise StageError(title, exc) from exc
    printer.line(f"({time.perf_counter() - start:.2f} s)")


def run(printer: Printer, question: str, force_emulator: bool) -> None:
    """Every stage of the demo, printing as it goes."""
    with ExitStack() as stack:
        with stage(printer, "Connecting"):
            backends = build_backends(stack, printer, force_emulator)
            for service, description in backends.descriptions.items():
                printer.line(f"{service:>11}: {description}")

        with stage(printer, "Loading the sample support tickets"):
            documents = load_documents()
            printer.line(
                f"Loaded {len(documents)} documents "
                f"({sum(len(d.page_content) for d in documents)} characters)."
            )

        with stage(
            printer,
            "Redacting personal data with Fastino (strategy='pseudonymize'), whole tickets first",
        ):
            # Whole documents, then split: a splitter cuts names and addresses at
            # chunk edges, and a fragment is no longer a value the model can find.
            pii = backends.pii
            pii.progress_callback = lambda done, total: printer.progress("Fastino", done, total)
            redacted = list(pii.transform_documents(documents))
            labels = Counter(e["label"] for d in redacted for e in d.metadata["pii_entities"])
            printer.line(
                f"Replaced {sum(labels.values())} values in {len(redacted)} tickets: "
                + ", ".join(f"{n} {label}" for label, n in labels.most_common())
                + "."
            )
            printer.line(f"before: {shorten(documents[0].page_content, 110)}")
            printer.line(f" after: {shorten(redacted[0].page_content, 110)}")
            leaked = [
                d.id
                for d, original in zip(redacted, documents, strict=True)
                for e in d.metadata["pii_entities"]
                if original.page_content[e["start"] : e["end"]] in d.page_content
            ]
            if leaked:
                msg = f"personal data left in tickets {leaked}"
                raise RuntimeError(msg)

        with stage(printer, "Splitting the redacted tickets"):
            chunks = split_documents(redacted)
            printer.line(
                f"Split {len(redacted)} redacted tickets into {len(chunks)} chunks "
                "(after redaction, so no value is cut at a chunk edge)."
            )
            printer.line(f"Example chunk {chunks[0].id}: {shorten(chunks[0].page_content, 110)}")

        prompt = ChatPromptTemplate.from_messages(
            [("system", SYSTEM_PROMPT), ("human", "Tickets:\n{context}\n\nQuestion: {question}")]
        )
        chain = prompt | backends.llm | StrOutputParser()

        with stage(printer, "Answering a question over the redacted tickets (chain.invoke)"):
            context_chunks = retrieve(question, chunks, k=2)
            context = "\n---\n".join(c.page_content for c in context_chunks)
            printer.line(f"Question: {question}")
            printer.line(f"Retrieved chunks: {', '.join(str(c.id) for c in context_chunks)}")
            progress = JobProgressBar(printer, "job")
            answer = chain.invoke(
                {"context": context, "question": question}, config={"callbacks": [progress]}
            )
            printer.line(f"Model's answer: {answer}")
            placeholders = list(dict.fromkeys(PLACEHOLDER.findall(answer)))
            # Restore only what the model saw: a token it did not see (typed
            # into the question, or guessed) stays a token.
            if placeholders:
                printer.line("Placeholders in the answer, restored for the reader:")
                for token in placeholders:
                    shown = pii.restore(token, scope=context_chunks)
                    printer.line(f"{token} -> {shown}", indent=6)
            restored = pii.restore(answer, scope=context_chunks)
            printer.line(f"Restored answer: {restored}")

        with stage(printer, "Summarising every ticket in one job (chain.batch)"):
            redacted_docs = {str(doc.id): doc.page_content for doc in redacted}
            progress = JobProgressBar(printer, "batch job")
            summaries = chain.batch(
                [
                    {"context": text, "question": SUMMARY_QUESTION}
                    for text in redacted_docs.values()
                ],
                config={"callbacks": [progress]},
            )
            progress.finish(len(summaries))
            printer.line(
                f"{len(summaries)} tickets answered by {len(progress.jobs) or 'one or more'} "
                "generation job(s); summaries with names restored:"
            )
            for doc_id, summary in zip(redacted_docs, summaries, strict=True):
                shown = pii.restore(summary, scope=[redacted_docs[doc_id]])
                printer.line(f"{doc_id}: {shorten(shown, 170)}")

        with stage(printer, "Scoring each ticket's sentiment with FyreToolkit"):
            message = backends.sentiment.invoke(
                {
                    "type": "tool_call",
                    "id": "demo-sentiment",
                    "name": backends.sentiment.name,
                    "args": {"inputs": list(redacted_docs.values())},
                }
            )
            results = message.artifact["results"]
            for doc_id, result in zip(redacted_docs, results, strict=True):
                label = result.get("label", "?")
                score = result.get("score")
                shown = f"{score:.2f}" if isinstance(score, int | float) else "?"
                printer.line(f"{doc_id:<22} {label:<9} {shown}")
            counts = Counter(str(r.get("label")) for r in results)
            printer.line(
                "Overall: " + ", ".join(f"{n} {label}" for label, n in counts.most_common()) + "."
            )


def build_parser() -> argparse.ArgumentParser:
    """The demo's command-line options.

    Example:
        >>> build_parser().parse_args([]).emulator
        False
    """
    parser = argparse.ArgumentParser(
        prog="python -m langchain_mlstudio.demo",
        description="Redact (Fastino) whole, split, answer (ModelStudio) and restore sample "
        "support tickets, then score their sentiment (FyreToolkit). Uses the real "
        "services whose API keys are set and the built-in emulator for the rest.",
    )
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="the question to answer")
    parser.add_argument(
        "--emulator", action="store_true", help="use the emulator even when API keys are set"
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the demo; return the exit status (0 on success).

    Example::

        from langchain_mlstudio.demo import main
        main(["--emulator"])   # prints every stage, returns 0
    """
    args = build_parser().parse_args(argv)
    printer = Printer(out or sys.stdout)
    printer.line("langchain-mlstudio demo: redact -> retrieve -> answer -> restore -> score", 0)
    start = time.perf_counter()
    try:
        run(printer, args.question, args.emulator)
    except StageError as err:
        explain = explain_failure(err.cause)
        sys.stderr.write(f"\nDemo failed at stage '{err.stage}':\n  {explain}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        return 130
    printer.line(f"\nDone in {time.perf_counter() - start:.1f} s.", 0)
    return 0


def explain_failure(exc: BaseException) -> str:
    """One readable explanation of a failure, with the package's hint if any.

    Example:
        >>> explain_failure(RuntimeError("personal data left in tickets ['t1']"))
        "RuntimeError: personal data left in tickets ['t1']"
    """
    text = f"{type(exc).__name__}: {exc}"
    inner = exc.__cause__
    if not isinstance(exc, MLStudioError) and isinstance(inner, MLStudioError):
        text += f"\n  caused by {type(inner).__name__}: {inner}"
    if isinstance(exc, PIIDetectionError) and exc.causes:
        doc_id, cause = next(iter(exc.causes.items()))
        text += f"\n  first cause ({doc_id}): {type(cause).__name__}: {cause}"
    return text
