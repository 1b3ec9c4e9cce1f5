"""The end-to-end demo: redact whole documents, split, retrieve, answer, restore, score.

Run it with ``python -m langchain_mlstudio.demo`` or ``langchain-mlstudio-demo``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_mlstudio.chat_models import PROGRESS_EVENT, ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.demo._responder import tickets_responder
from langchain_mlstudio.errors import ConfigurationError, MLStudioError, PIIDetectionError
from langchain_mlstudio.fastino import FastinoPIITransformer
from langchain_mlstudio.fyretoolkit import FyreToolkitPredictTool

__all__ = [
    "Backends",
    "JobProgress",
    "Printer",
    "StageError",
    "build_backends",
    "build_parser",
    "load_documents",
    "main",
    "retrieve",
    "run",
    "shorten",
    "split_documents",
    "stage",
    "uses_real_services",
]

DEMO_KEY = "demo-key"
DEMO_ORG = "demo-org"
DEFAULT_MODEL = "my-fine-tuned-model"
DEFAULT_SENTIMENT_MODEL = "sentiment-v1"
DEFAULT_QUESTION = "Which customer wants a refund, and how can we pay it?"
SUMMARY_QUESTION = "Summarise this ticket in one sentence and say what the customer needs."

PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+_[A-Z0-9]+>")

SYSTEM_PROMPT = (
    "You are a customer-support lead. Answer only from the tickets below. Personal data "
    "has been replaced by placeholders such as <FULL_NAME_1_K7Q2X>: quote them exactly."
)


# -- documents ---------------------------------------------------------------------


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


# -- output ------------------------------------------------------------------------


class Printer:
    """Readable stage headers, indented lines and progress for the demo."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.stage_number = 0
        self._progress_shown = False

    def stage(self, title: str) -> None:
        """Start a numbered stage."""
        self.stage_number += 1
        self.out.write(f"\n[{self.stage_number}] {title}\n")
        self.out.flush()

    def line(self, text: str = "", indent: int = 4) -> None:
        """One indented line (or several)."""
        for part in text.splitlines() or [""]:
            self.out.write(" " * indent + part + "\n")
        self.out.flush()

    def progress(self, label: str, done: int, total: int) -> None:
        """A progress bar; redrawn in place on a terminal, else printed when done."""
        width = 24
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        text = f"    {label} [{bar}] {done}/{total}"
        if self.tty:
            self.out.write("\r" + text + ("\n" if done >= total else ""))
            self.out.flush()
        elif done >= total:
            self.out.write(text + "\n")
            self.out.flush()


def shorten(text: str, limit: int = 160) -> str:
    r"""``text`` on one line, cut to ``limit`` characters.

    Example:
        >>> shorten("a  b\nc", 10)
        'a b c'
        >>> shorten("x" * 20, 10)
        'xxxxxxxxx…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class JobProgress(BaseCallbackHandler):
    """Shows the progress events a chat model sends while its job runs."""

    def __init__(self, printer: Printer, label: str) -> None:
        self.printer = printer
        self.label = label
        self.jobs: dict[str, tuple[int, int]] = {}

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        """Record a job's completed and total tasks and redraw the bar."""
        if name != PROGRESS_EVENT or not isinstance(data, dict):
            return
        total = data.get("total_tasks") or 0
        done = data.get("completed_tasks") or 0
        if total:
            self.jobs[data["job_id"]] = (done, total)
            done_all = sum(d for d, _ in self.jobs.values())
            total_all = sum(t for _, t in self.jobs.values())
            if done_all < total_all:
                self.printer.progress(self.label, done_all, total_all)

    def finish(self, count: int) -> None:
        """Draw the finished bar."""
        self.printer.progress(self.label, count, count)


# -- backends ----------------------------------------------------------------------


@dataclass
class Backends:
    """Where each service is: the real API (from the environment) or the emulator."""

    llm: BaseChatModel
    pii: FastinoPIITransformer
    sentiment: FyreToolkitPredictTool
    descriptions: dict[str, str]


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def uses_real_services(environ: dict[str, str] | None = None) -> dict[str, bool]:
    """Which services have a key in the environment.

    Example:
        >>> uses_real_services({"FASTINO_API_KEY": "k"})
        {'chat model': False, 'Fastino': True, 'FyreToolkit': False}
    """
    env = os.environ if environ is None else environ
    return {
        "chat model": bool(env.get("MODELSTUDIO_API_KEY") or env.get("IONOS_MODEL_STUDIO_API_KEY")),
        "Fastino": bool(env.get("FASTINO_API_KEY")),
        "FyreToolkit": bool(env.get("FYRETOOLKIT_API_KEY")),
    }


def build_backends(stack: ExitStack, printer: Printer, force_emulator: bool) -> Backends:
    """Connect to the real services that have keys, and the emulator for the rest."""
    real = {name: has and not force_emulator for name, has in uses_real_services().items()}
    base_url = None
    if not all(real.values()):
        from langchain_mlstudio.emulator import Emulator

        emulator = Emulator(
            api_key=DEMO_KEY, organization_id=DEMO_ORG, model=DEFAULT_MODEL, job_duration=0.4
        )
        emulator.fastino.latency = 0.05
        # Answer the demo's prompt from its tickets instead of echoing it (marked as emulated).
        emulator.generate.responder = tickets_responder()
        stack.enter_context(emulator)
        base_url = emulator.base_url
        why = "--emulator was given" if force_emulator else None
        if why is None:
            why = "no API key is set" if not any(real.values()) else "some services have no API key"
        printer.line(f"Starting the built-in emulator at {base_url} ({why}).")
        printer.line("Set MODELSTUDIO_*, FASTINO_* and FYRETOOLKIT_* to use the real services.")
    descriptions: dict[str, str] = {}
    model = _env("MODELSTUDIO_MODEL") or DEFAULT_MODEL
    llm: BaseChatModel
    if real["chat model"]:
        if not _env("MODELSTUDIO_MODEL"):
            msg = "No model id for the real chat model service"
            raise ConfigurationError(
                msg, hint="Set MODELSTUDIO_MODEL to the id of your fine-tuned model."
            )
        if _env("MODELSTUDIO_API_KEY"):
            llm = ChatModelStudio(model=model, temperature=0.2, progress=False)
            descriptions["chat model"] = f"ChatModelStudio, model {model!r} at {llm.base_url}"
        else:
            llm = ChatIonosModelStudio(model=model, temperature=0.2, progress=False)
            descriptions["chat model"] = f"ChatIonosModelStudio, model {model!r} at {llm.base_url}"
    else:
        llm = ChatModelStudio(
            model=DEFAULT_MODEL,
            api_key=DEMO_KEY,
            organization_id=DEMO_ORG,
            base_url=base_url,
            temperature=0.2,
            progress=False,
        )
        descriptions["chat model"] = (
            f"ChatModelStudio on the emulator (model {DEFAULT_MODEL!r}; a scripted responder "
            "answers with the sentences of the tickets that match the question)"
        )
    # The demo draws its own progress bars (from the callbacks): no second display.
    pii_settings: dict[str, Any] = {
        "strategy": "pseudonymize",
        "max_concurrency": 4,
        "progress": False,
    }
    if real["Fastino"]:
        pii = FastinoPIITransformer(**pii_settings)
        descriptions["Fastino"] = f"FastinoPIITransformer at {pii.fastino_client.base_url}"
    else:
        pii = FastinoPIITransformer(api_key=DEMO_KEY, base_url=base_url, **pii_settings)
        descriptions["Fastino"] = "FastinoPIITransformer on the emulator (a rule-based detector)"
    sentiment_model = _env("FYRETOOLKIT_SENTIMENT_MODEL") or DEFAULT_SENTIMENT_MODEL
    if real["FyreToolkit"]:
        sentiment = FyreToolkitPredictTool(model_id=sentiment_model)
        descriptions["FyreToolkit"] = (
            f"FyreToolkitPredictTool, model {sentiment_model!r} at {sentiment.base_url}"
        )
    else:
        sentiment = FyreToolkitPredictTool(
            model_id=DEFAULT_SENTIMENT_MODEL, api_key=DEMO_KEY, base_url=base_url
        )
        descriptions["FyreToolkit"] = (
            f"FyreToolkitPredictTool on the emulator (model {DEFAULT_SENTIMENT_MODEL!r})"
        )
    return Backends(llm, pii, sentiment, descriptions)


# -- the run -----------------------------------------------------------------------


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
            progress = JobProgress(printer, "job")
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
            progress = JobProgress(printer, "batch job")
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
        explain = _explain(err.cause)
        sys.stderr.write(f"\nDemo failed at stage '{err.stage}':\n  {explain}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        return 130
    printer.line(f"\nDone in {time.perf_counter() - start:.1f} s.", 0)
    return 0


def _explain(exc: BaseException) -> str:
    """One readable explanation of a failure, with the package's hint if any."""
    text = f"{type(exc).__name__}: {exc}"
    inner = exc.__cause__
    if not isinstance(exc, MLStudioError) and isinstance(inner, MLStudioError):
        text += f"\n  caused by {type(inner).__name__}: {inner}"
    if isinstance(exc, PIIDetectionError) and exc.causes:
        doc_id, cause = next(iter(exc.causes.items()))
        text += f"\n  first cause ({doc_id}): {type(cause).__name__}: {cause}"
    return text
