"""The emulated FyreToolkit models: the seeded catalogue and what each family predicts.

Sentiment is a small lexicon with negation; the other families (toxicity,
language, intent, topic, spam, emotion, urgency, formality) count keywords.
Every prediction is deterministic.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FAMILIES", "classify", "predict", "seed_models", "sentiment"]

#: When the first seeded model was created (Unix time); each next one an hour later.
_BASE_CREATED = 1_700_000_000


def _kw(words: str) -> frozenset[str]:
    return frozenset(words.split())


_POSITIVE = _kw(
    "good great excellent amazing love loved lovely like liked wonderful fantastic "
    "happy best awesome nice perfect pleasant recommend superb brilliant fast "
    "helpful enjoy enjoyed delightful satisfied beautiful"
)
_NEGATIVE = _kw(
    "bad terrible awful hate hated horrible worst poor slow broken disappointing "
    "disappointed sad angry useless refund annoying ugly boring fail failed "
    "problem problems never worse waste rude"
)
_NEGATORS = frozenset({"not", "no", "never", "don't", "dont", "isn't", "wasn't", "n't"})

#: Keyword classifiers of the other model families: label -> keywords, default.
_KEYWORD_FAMILIES: dict[str, tuple[dict[str, frozenset[str]], str]] = {
    "toxicity": (
        {"toxic": _kw("idiot stupid hate kill dumb shut")},
        "non_toxic",
    ),
    "language-detect": (
        {
            "de": _kw("der die das und ist nicht ich sie"),
            "fr": _kw("le la les et est pas je vous"),
            "es": _kw("el los las y es no yo usted"),
        },
        "en",
    ),
    "intent": (
        {
            "refund": _kw("refund money back return"),
            "cancel": _kw("cancel stop unsubscribe"),
            "support": _kw("help broken error issue"),
        },
        "other",
    ),
    "topic": (
        {
            "billing": _kw("invoice bill payment charge price"),
            "shipping": _kw("delivery shipping package arrived"),
            "product": _kw("quality product feature size"),
        },
        "general",
    ),
    "spam": ({"spam": _kw("free winner prize click offer urgent")}, "ham"),
    "emotion": (
        {
            "joy": _kw("happy glad joy love great"),
            "anger": _kw("angry furious hate annoyed"),
            "sadness": _kw("sad unhappy cry miss"),
        },
        "neutral",
    ),
    "urgency": (
        {"urgent": _kw("urgent asap immediately now emergency")},
        "normal",
    ),
    "formality": ({"informal": _kw("hey lol gonna wanna yo")}, "formal"),
}
#: Every model family, sentiment first.
FAMILIES = ("sentiment", *_KEYWORD_FAMILIES)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def sentiment(text: str) -> dict[str, Any]:
    """Lexicon-based sentiment: a label and a confidence score, deterministic.

    Example:
        >>> sentiment("I love it")["label"], sentiment("not good")["label"]
        ('positive', 'negative')
    """
    score = 0
    negate = False
    for word in _words(text):
        if word in _NEGATORS or word.endswith("n't"):
            negate = True
            continue
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        if polarity:
            score += -polarity if negate else polarity
        negate = False
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    confidence = 0.5 + 0.5 * abs(score) / (abs(score) + 1)
    return {"label": label, "score": round(confidence if score else 0.6, 4)}


def classify(family: str, text: str) -> dict[str, Any]:
    """A keyword classifier of one of the non-sentiment families.

    Example:
        >>> classify("spam", "Click now: a free prize")["label"]
        'spam'
    """
    labels, default = _KEYWORD_FAMILIES[family]
    words = set(_words(text))
    hits = {label: len(words & keywords) for label, keywords in labels.items()}
    best = max(hits, key=lambda label: hits[label]) if hits else default
    if not hits or hits[best] == 0:
        return {"label": default, "score": 0.55}
    return {"label": best, "score": round(0.5 + 0.5 * hits[best] / (hits[best] + 1), 4)}


def seed_models() -> dict[str, dict[str, Any]]:
    """The 45 models every emulator starts with, by id: nine families, versions 1 to 5.

    Version 5 is still ``training``; version 1 is ``archived`` except for
    sentiment; every other model is ``ready``.

    Example:
        >>> models = seed_models()
        >>> len(models), models["sentiment-v1"]["status"], models["topic-v5"]["status"]
        (45, 'ready', 'training')
    """
    models: dict[str, dict[str, Any]] = {}
    index = 0
    for version in range(1, 6):
        for family in FAMILIES:
            if version == 5:
                status = "training"
            elif version == 1 and family != "sentiment":
                status = "archived"
            else:
                status = "ready"
            model_id = f"{family}-v{version}"
            models[model_id] = {
                "id": model_id,
                "object": "model",
                "status": status,
                "created": _BASE_CREATED + index * 3600,
                "description": f"{family.replace('-', ' ').capitalize()} classifier, "
                f"version {version}",
                "task": family,
                "version": version,
            }
            index += 1
    return models


def predict(family: str, text: str) -> dict[str, Any]:
    """What a model of ``family`` answers for one text: a label and a score.

    Example:
        >>> predict("sentiment", "I love it")["label"], predict("intent", "please cancel")["label"]
        ('positive', 'cancel')
    """
    return sentiment(text) if family == "sentiment" else classify(family, text)
