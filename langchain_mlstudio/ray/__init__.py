"""Corpus-scale runs on Ray Data, with the plan's limits held for the whole cluster.

- :func:`redact_dataset`: a ``Dataset`` of texts through a
  :class:`~langchain_mlstudio.FastinoPIITransformer`, streaming and failing
  closed per row, within ``requests_per_second`` across every worker, with
  one pseudonym mapping for the run.
- :func:`generate_dataset`: a ``Dataset`` of prompts through
  :class:`~langchain_mlstudio.ChatModelStudio` or
  :class:`~langchain_mlstudio.ChatIonosModelStudio`, packed into jobs, within
  ``max_concurrent_jobs`` across every worker, never submitting a job twice
  when Ray retries a task.

Needs the ``ray`` extra (``pip install 'langchain-mlstudio[ray]'``); this
module imports without it, and the functions raise
:class:`RayNotInstalledError` (an ``ImportError``) naming the extra.

Example:
    >>> from langchain_mlstudio.ray import RayNotInstalledError
    >>> issubclass(RayNotInstalledError, ImportError)
    True
"""

from langchain_mlstudio.ray._errors import (
    JobOutcomeUnknownError,
    RayNotInstalledError,
    RunCoordinatorError,
)
from langchain_mlstudio.ray._generate import generate_dataset
from langchain_mlstudio.ray._redact import redact_dataset

__all__ = [
    "JobOutcomeUnknownError",
    "RayNotInstalledError",
    "RunCoordinatorError",
    "generate_dataset",
    "redact_dataset",
]
