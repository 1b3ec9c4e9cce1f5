"""Fastino PII: a client for ``POST /run``, a document transformer and a tool.

- :class:`FastinoClient`: sync and async ``run(model_id, inputs)`` with
  batching, a shared requests-per-second limit and typed results.
- :class:`FastinoPIITransformer`: fail-closed PII removal for RAG
  preprocessing (redact, mask, hash or pseudonymize).
- :class:`FastinoPIITool`: PII detection and redaction for agents.

Example:
    >>> from langchain_mlstudio.fastino import FastinoPIITransformer
    >>> FastinoPIITransformer(api_key="k").strategy
    'redact'
"""

from langchain_mlstudio.fastino.client import FastinoClient
from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer
from langchain_mlstudio.fastino.results import (
    FastinoEntity,
    FastinoInput,
    FastinoInputError,
    FastinoResult,
)
from langchain_mlstudio.fastino.settings import DEFAULT_ENTITY_TYPES
from langchain_mlstudio.fastino.tool import FastinoPIIInput, FastinoPIITool
from langchain_mlstudio.fastino.transformer import FastinoPIITransformer

__all__ = [
    "DEFAULT_ENTITY_TYPES",
    "FastinoClient",
    "FastinoEntity",
    "FastinoInput",
    "FastinoInputError",
    "FastinoPIIInput",
    "FastinoPIITool",
    "FastinoPIITransformer",
    "FastinoResult",
    "Pseudonymizer",
]
