"""Progress you can read for long runs: counts, rate and time left.

One :class:`Progress` per run (documents redacted, conversations answered, tasks
of a job). It shows nothing for a run that ends quickly: by default the display
starts only once the run has lasted ``delay`` seconds (2 s), so short calls stay
silent and long ones explain themselves. It draws through ``tqdm`` where that is
installed (the ``progress`` extra; ``tqdm.auto`` picks the notebook widget in
Jupyter), else a plain line on stderr: redrawn in place on a terminal, or one
line at most every ``log_interval`` seconds in a log, plus a final one.

Whether it shows is a setting of each component (``progress=True`` always,
``False`` never, ``None`` after the delay), and the environment variable
``LANGCHAIN_MLSTUDIO_PROGRESS`` (``off``/``0``/``never``, ``on``/``1``/``always``
or ``auto``) overrides the automatic choice for a whole process, for example
in CI.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(3, description="Fastino PII", unit="document", enabled=True,
    ...               stream=out, backend="plain") as bar:
    ...     _ = bar.update(3)
    >>> out.getvalue().splitlines()[-1]
    'Fastino PII: 3/3 documents (100%), done in 0 s'
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO

__all__ = ["DEFAULT_DELAY", "ENV_VAR", "TQDM_LAYOUT", "Progress", "setting_from_env", "tqdm_class"]

ENV_VAR = "LANGCHAIN_MLSTUDIO_PROGRESS"
DEFAULT_DELAY = 2.0

Backend = Literal["auto", "tqdm", "plain"]
TQDM_LAYOUT = (
    "{desc}: {n_fmt}/{total_fmt}{unit} {percentage:3.0f}%|{bar}| "
    "[{elapsed}<{remaining}, {rate_fmt}]"
)


def setting_from_env(enabled: bool | None) -> bool | None:
    """``enabled`` unless it is ``None`` (auto) and the environment variable decides.

    Example:
        >>> import os
        >>> os.environ["LANGCHAIN_MLSTUDIO_PROGRESS"] = "off"
        >>> setting_from_env(None), setting_from_env(True)
        (False, True)
        >>> del os.environ["LANGCHAIN_MLSTUDIO_PROGRESS"]
    """
    if enabled is not None:
        return enabled
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in {"0", "off", "false", "no", "never"}:
        return False
    if value in {"1", "on", "true", "yes", "always"}:
        return True
    return None


def tqdm_class() -> Any:
    """``tqdm.auto.tqdm`` (notebook-aware) when ``tqdm`` is installed, else ``None``."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _duration(seconds: float) -> str:
    """A short human duration.

    Example:
        >>> _duration(4.2), _duration(75), _duration(7300)
        ('4 s', '1 min 15 s', '2 h 1 min')
    """
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Progress:
    """Counts, rate and time left for one run, shown once the run is long enough.

    Thread-safe: workers may call :meth:`update` at once. Closes itself when
    the count reaches the total; use it as a context manager so an error
    closes it too.

    Args:
        total: How many items the run has (``None``: unknown, no time left shown).
        description: What is being done, e.g. ``"Fastino PII"``.
        unit: The item's name, singular (``"document"``); an ``s`` is added.
        enabled: ``True`` shows from the start, ``False`` never, ``None``
            (default) once the run has lasted ``delay`` seconds, unless
            ``LANGCHAIN_MLSTUDIO_PROGRESS`` says otherwise.
        delay: Seconds before an automatic display starts.
        stream: Where to draw (default: ``sys.stderr``).
        backend: ``"tqdm"``, ``"plain"`` or ``"auto"`` (tqdm where installed).
        log_interval: Seconds between plain lines when the stream is not a terminal.
        clock: The time source (tests pass a fake one).
    """

    def __init__(
        self,
        total: int | None,
        *,
        description: str,
        unit: str = "item",
        enabled: bool | None = None,
        delay: float = DEFAULT_DELAY,
        stream: TextIO | None = None,
        backend: Backend = "auto",
        log_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.description = description
        self.unit = unit
        self.enabled = setting_from_env(enabled)
        self.delay = 0.0 if self.enabled else delay
        self.stream = stream
        self.log_interval = log_interval
        self._clock = clock
        self._tqdm = tqdm_class() if backend in ("auto", "tqdm") else None
        if backend == "tqdm" and self._tqdm is None:
            msg = "backend='tqdm' needs tqdm: pip install 'langchain-mlstudio[progress]'"
            raise ImportError(msg)
        self._lock = threading.Lock()
        self._started = clock()
        self._done = 0
        self._bar: Any = None
        self._showing = False
        self._closed = False
        self._last_line = float("-inf")
        self._width = 0

    # -- figures -------------------------------------------------------------

    @property
    def done(self) -> int:
        """Items finished so far."""
        return self._done

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self._clock() - self._started

    @property
    def rate(self) -> float | None:
        """Items per second over the run so far (``None`` before any time passed)."""
        elapsed = self.elapsed
        return self._done / elapsed if elapsed > 0 else None

    @property
    def remaining(self) -> float | None:
        """Seconds left at the current rate (``None`` when it cannot be told)."""
        rate = self.rate
        if self.total is None or not rate:
            return None
        return max(0, self.total - self._done) / rate

    def line(self) -> str:
        """The plain progress line: count, percentage, rate and time left.

        Example:
            >>> ticks = iter([0.0, 4.0, 4.0, 4.0])
            >>> bar = Progress(10, description="Job", unit="task", clock=lambda: next(ticks))
            >>> bar._done = 4
            >>> bar.line()
            'Job: 4/10 tasks (40%), 1.0 tasks/s, 6 s left'
        """
        units = self.unit + ("" if self._done == 1 and self.total in (None, 1) else "s")
        count = f"{self._done}/{self.total}" if self.total is not None else f"{self._done}"
        parts = [f"{self.description}: {count} {units}"]
        if self.total:
            parts[0] += f" ({100 * self._done // self.total}%)"
        if self.total is not None and self._done >= self.total:
            parts.append(f"done in {_duration(self.elapsed)}")
            return ", ".join(parts)
        rate = self.rate
        if rate is not None:
            parts.append(f"{rate:.1f} {self.unit}s/s")
        remaining = self.remaining
        if remaining is not None:
            parts.append(f"{_duration(remaining)} left")
        return ", ".join(parts)

    # -- updates -------------------------------------------------------------

    def update(self, n: int = 1) -> int:
        """Count ``n`` more items done (``0``: just refresh the display); the new count."""
        with self._lock:
            if self._closed:
                return self._done
            self._done += n
            finished = self.total is not None and self._done >= self.total
            if not self._showing and self.enabled is not False:
                self._showing = self.elapsed >= self.delay
                if self._showing:
                    self._open()
            elif self._bar is not None:
                self._bar.update(n)
            if self._showing and self._bar is None:
                self._draw(final=finished)
            if finished:
                self._close_locked()
            return self._done

    def advance_to(self, done: int, total: int | None = None) -> int:
        """Set the count to ``done`` (and the total, once known), for a server's own counts.

        Example:
            >>> bar = Progress(None, description="job", unit="record", enabled=False)
            >>> bar.advance_to(5, total=10), bar.total
            (5, 10)
        """
        with self._lock:
            if total is not None and total != self.total:
                self.total = total
                if self._bar is not None:
                    self._bar.total = total
                    self._bar.refresh()
        return self.update(max(0, done - self._done))

    def close(self) -> None:
        """End the display (a last plain line, or tqdm's closing)."""
        with self._lock:
            if not self._closed and self._showing and self._bar is None:
                self._draw(final=True)
            self._close_locked()

    def _open(self) -> None:
        if self._tqdm is not None:
            # The plain line's words first ("Fastino PII: 3/10 inputs"), then the bar.
            layout = TQDM_LAYOUT if self.total is not None else None
            self._bar = self._tqdm(
                total=self.total,
                initial=self._done,
                desc=self.description,
                unit=f" {self.unit}s",
                file=self._out(),
                leave=True,
                bar_format=layout,
            )

    def _close_locked(self) -> None:
        if self._bar is not None and not self._closed:
            self._bar.close()
        self._closed = True

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _draw(self, *, final: bool) -> None:
        out = self._out()
        text = self.line()
        if out.isatty():
            padding = " " * max(0, self._width - len(text))
            self._width = len(text)
            out.write(f"\r{text}{padding}" + ("\n" if final else ""))
        else:
            now = self._clock()
            if not final and now - self._last_line < self.log_interval:
                return
            self._last_line = now
            out.write(text + "\n")
        out.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
