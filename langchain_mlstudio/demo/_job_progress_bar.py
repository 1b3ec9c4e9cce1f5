"""A callback handler drawing the progress events a chat model sends while its job runs."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from langchain_mlstudio.chat_models import PROGRESS_EVENT
from langchain_mlstudio.demo._printer import Printer

__all__ = ["JobProgressBar"]


class JobProgressBar(BaseCallbackHandler):
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
