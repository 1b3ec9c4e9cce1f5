"""Helpers for suites that run clients against a live emulator (on 127.0.0.1, in the test process).

- :class:`Account`: the key, organization and model an emulator serves, so a
  suite starts the emulator and builds its chat models from one record.
- :func:`cleared`: a shared emulator with no faults armed and an empty log.
- :func:`frozen_heap`: keep a full garbage collection of the test process's
  heap from stalling the emulator thread while a test reads arrival times.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_mlstudio.chat_models.base import BaseChatGenerationJob
from langchain_mlstudio.emulator import Emulator

__all__ = ["Account", "cleared", "frozen_heap"]

ChatModel = TypeVar("ChatModel", bound=BaseChatGenerationJob)


@dataclass(frozen=True)
class Account:
    """Who the emulator serves: one API key, organization and fine-tuned model.

    Example:
        >>> account = Account("k", "org", "m")
        >>> account.model
        'm'
    """

    api_key: str
    organization_id: str
    model: str

    def emulator(self, **settings: Any) -> Emulator:
        """An emulator (not started) serving this account."""
        return Emulator(
            api_key=self.api_key, organization_id=self.organization_id, model=self.model, **settings
        )

    def chat_model(self, cls: type[ChatModel], base_url: str, **settings: Any) -> ChatModel:
        """A chat model of class ``cls`` for this account at ``base_url``."""
        account = {"api_key": self.api_key, "organization_id": self.organization_id}
        return cls(model=self.model, base_url=base_url, **account, **settings)


@contextmanager
def cleared(emulator: Emulator) -> Iterator[Emulator]:
    """``emulator`` with no fault armed and an empty request log; its faults cleared after."""
    emulator.faults.clear()
    emulator.log.clear()
    try:
        yield emulator
    finally:
        emulator.faults.clear()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect once, then keep the collector off the heap that exists now.

    Client and emulator share the test process, so a full collection of the
    large import-time heap (~70 ms) would look like network jitter in the
    arrival times the rate-limit tests read.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
