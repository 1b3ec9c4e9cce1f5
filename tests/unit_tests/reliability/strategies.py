"""Hypothesis strategies for hostile server answers and hostile inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Any JSON value (NaN and infinities included: Python's json module reads them).
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of the documented keys, each plausible or arbitrary."""
    return st.fixed_dictionaries(
        {}, optional={key: strategy | json_values for key, strategy in fields.items()}
    ).flatmap(
        lambda known: st.dictionaries(st.text(max_size=8), json_values, max_size=2).map(
            lambda extra: {**extra, **known}
        )
    )


def random_casing(word: str) -> st.SearchStrategy[str]:
    """``word`` with every letter in a random case, possibly padded with spaces."""
    return st.tuples(
        st.lists(st.booleans(), min_size=len(word), max_size=len(word)),
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(["", " ", "\n"]),
    ).map(
        lambda parts: (
            parts[1]
            + "".join(c.upper() if up else c.lower() for c, up in zip(word, parts[0], strict=True))
            + parts[2]
        )
    )


status_words = st.sampled_from(
    [
        "CREATED", "QUEUED", "RUNNING", "FINISHED", "FAILED", "pending", "running",
        "completed", "failed", "error", "canceled", "cancelled", "expired", "success",
        "succeeded", "done", "processing", "paused", "warming_up", "unknown",
    ]
) | st.text(max_size=12)  # fmt: skip

task_results = shaped(
    {
        "task_index": st.integers(-2, 5),
        "status": status_words,
        "result": st.text(max_size=20),
        "error": st.text(max_size=20) | st.none(),
    }
)

generation_jobs = shaped(
    {
        "job_id": st.text(max_size=10),
        "job_status": status_words,
        "total_tasks": st.integers(-1, 5),
        "completed_tasks": st.integers(-1, 5),
        "results": st.lists(task_results, max_size=4),
    }
)

fastino_entities = shaped(
    {
        "start": st.integers(-3, 40),
        "end": st.integers(-3, 40),
        "label": st.text(max_size=10),
        "text": st.text(max_size=10),
        "score": st.floats(),
    }
)

fastino_results = shaped(
    {
        "input": st.text(max_size=20),
        "latency_ms": st.floats(),
        "message": st.text(max_size=20),
        "status": st.sampled_from(["success", "SUCCESS", "error", "queued"]) | st.text(max_size=8),
        "output": shaped(
            {
                "entities": st.lists(fastino_entities, max_size=3),
                "redacted_text": st.text(max_size=20),
            }
        ),
    }
)
