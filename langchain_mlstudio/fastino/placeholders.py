r"""Placeholders that cannot be forged, and finding them again in a model's answer.

Two directions, one notion of "looks like a placeholder":

- on the way in, :func:`neutralise` rewrites every placeholder-like run of an
  input (``<FULL_NAME_1>``, ``<<EMAIL_2_K7Q2X>>``, ``＜iban 3＞``) with
  lookalike angle quotes (``‹FULL_NAME_1›``), keeping its length, so text an
  attacker planted in a document can never equal a token the mapping issues;
- on the way back, :func:`candidates` finds the placeholders an LLM quoted,
  also in the common mangled forms (another case, spaces inside the brackets
  or instead of ``_``, full-width brackets, doubled ``<<...>>``, invisible
  characters inside), each as one whole match, so a token is restored whole or not at all.

Example:
    >>> neutralise("Ask <FULL_NAME_1> about <div>")
    'Ask ‹FULL_NAME_1› about <div>'
    >>> [canonical(m.group("body")) for m in candidates("Hi << full name 1 k7q2x >>!")]
    ['FULL_NAME_1_K7Q2X']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = ["ISSUED", "candidates", "canonical", "looks_like_placeholder", "neutralise"]

_OPEN = "<<|<|\uff1c|\u3008|\u27e8|\u300a"  # < ＜ 〈 ⟨ 《
_CLOSE = ">>|>|\uff1e|\u3009|\u27e9|\u300b"
_CANDIDATE = re.compile(
    rf"(?P<open>{_OPEN})(?P<body>[^<>\uff1c\uff1e\u3008\u3009\u27e8\u27e9\u300a\u300b\n]{{1,80}}?)"
    rf"(?P<close>{_CLOSE})"
)
_SEPARATORS = re.compile(r"[\s_\-]+")
_LABEL_LIKE = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*")

#: An exact placeholder as this package writes it (``<FULL_NAME_1_K7Q2X>``).
ISSUED = re.compile(r"<[A-Z0-9]+(?:_[A-Z0-9]+)*>")


def _visible(text: str) -> str:
    """``text`` without invisible format characters (zero-width space, joiner, BOM...)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def canonical(body: str) -> str:
    """A placeholder's body as its mapping keys it: NFKC, visible, upper case, ``_`` separators.

    Example:
        >>> canonical(" Full-Name 1 ")
        'FULL_NAME_1'
        >>> canonical("FULL\u200b_NAME_1")
        'FULL_NAME_1'
    """
    folded = _visible(unicodedata.normalize("NFKC", body)).strip()
    return _SEPARATORS.sub("_", folded).strip("_").upper()


def candidates(text: str) -> Iterator[re.Match[str]]:
    """Every bracketed run of ``text`` that may be a (possibly mangled) placeholder."""
    return _CANDIDATE.finditer(text)


def looks_like_placeholder(body: str) -> bool:
    """Whether a bracketed body could be (or be mangled into) a placeholder.

    Upper-case labels (``FULL_NAME``) and anything with a separator and a digit
    (``full name 1``, ``email_3f9a0c1e``) do; markup such as ``div`` or ``h1``
    does not, so HTML and XML keep their tags.

    Example:
        >>> [looks_like_placeholder(b) for b in ["EMAIL", "email 2", "div", "h1"]]
        [True, True, False, False]
    """
    folded = _visible(unicodedata.normalize("NFKC", body)).strip()
    if not _LABEL_LIKE.fullmatch(canonical(folded)):
        return False
    if any(c.isalpha() for c in folded) and folded == folded.upper():
        return True
    return any(c.isdigit() for c in folded) and bool(re.search(r"[\s_\-]", folded))


def neutralise(text: str) -> str:
    """``text`` with every placeholder-like run's brackets replaced by ``‹`` and ``›``.

    The result has the same length in code points, so offsets into it are
    offsets into ``text``.

    Example:
        >>> neutralise("<<EMAIL_1>> and ＜IBAN＞")
        '‹‹EMAIL_1›› and ‹IBAN›'
    """

    def escape(match: re.Match[str]) -> str:
        if not looks_like_placeholder(match.group("body")):
            return match.group(0)
        opening = "\u2039" * len(match.group("open"))
        closing = "\u203a" * len(match.group("close"))
        return opening + match.group("body") + closing

    return _CANDIDATE.sub(escape, text)
