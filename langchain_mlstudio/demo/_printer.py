"""The demo's console output: numbered stages, indented lines and progress bars."""

from __future__ import annotations

from typing import TextIO

__all__ = ["Printer", "shorten"]


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
