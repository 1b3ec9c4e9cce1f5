"""How the docs tests compare what an example printed with the output a page shows."""

from __future__ import annotations

import doctest

__all__ = ["prints_as_shown"]


def prints_as_shown(printed: str, shown: str) -> bool:
    """Whether ``printed`` is the text ``shown``, where ``...`` stands for any text (as in doctest).

    So a page may show ``<FULL_NAME_1_...>`` for a token with a random suffix;
    everything else must match exactly (leading and trailing blank lines aside).
    """
    checker = doctest.OutputChecker()
    return checker.check_output(shown.strip() + "\n", printed.strip() + "\n", doctest.ELLIPSIS)
