"""redact_dataset on a local Ray cluster: limits, mapping and failures seen at the server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from langchain_mlstudio import FastinoPIITransformer
from langchain_mlstudio.emulator import Emulator
from langchain_mlstudio.errors import AuthenticationError
from langchain_mlstudio.ray import redact_dataset
from tests.support.emulator import peak_in_window

from .conftest import ACCOUNT

PEOPLE = [
    "Jamie Derran",
    "Anna Rossi",
    "Lukas Schmidt",
    "Mei Tanaka",
    "Carlos Silva",
    "Priya Patel",
    "Olga Ivanova",
    "Kenji Kim",
]
TOKEN = re.compile(r"<FULL_NAME_[A-Za-z0-9_]+>")

pytestmark = pytest.mark.usefixtures("ray_cluster")


def transformer(emu: Emulator, **kwargs: Any) -> FastinoPIITransformer:
    return FastinoPIITransformer(
        api_key=ACCOUNT.api_key,
        base_url=emu.base_url,
        entity_types=["full_name", "email"],
        **kwargs,
    )


def redacted_rows(
    cluster: Any, pii: FastinoPIITransformer, rows: int, rows_per_batch: int
) -> list[dict[str, Any]]:
    """``rows`` rows of the corpus in four blocks, redacted by two workers."""
    ds = cluster.data.from_items(corpus(rows), override_num_blocks=4)
    return redact_dataset(ds, pii, rows_per_batch=rows_per_batch, concurrency=2).take_all()


def corpus(n: int) -> list[dict[str, Any]]:
    """Rows where each person turns up in many documents (and so in both workers)."""
    return [
        {
            "id": f"doc-{i}",
            "text": f"{PEOPLE[i % len(PEOPLE)]} met {PEOPLE[(i * 3 + 1) % len(PEOPLE)]} today.",
            "author": f"{PEOPLE[(i + 2) % len(PEOPLE)]}",
            "page": i,
        }
        for i in range(n)
    ]


def test_two_workers_together_stay_within_the_rate_limit_at_the_server(
    ray_cluster: Any, emulator: Emulator
) -> None:
    pii = transformer(emulator, requests_per_second=4, redact_metadata=False)
    rows = redacted_rows(ray_cluster, pii, 40, rows_per_batch=5)
    assert len(rows) == 40
    assert {r["pii_status"] for r in rows} == {"ok"}
    arrivals = emulator.fastino.arrivals()
    assert len(arrivals) == 40  # one document per request, no retries
    assert peak_in_window(arrivals) <= 4  # each worker alone would have sent up to 4


def test_pseudonymize_numbers_each_value_once_for_the_run_and_the_driver_restores_all(
    ray_cluster: Any, emulator: Emulator, tmp_path: Any
) -> None:
    pii = transformer(emulator, strategy="pseudonymize", batch_size=8)
    rows = redacted_rows(ray_cluster, pii, 64, rows_per_batch=8)
    by_token: dict[str, set[str]] = {}
    for row in rows:
        assert row["pii_status"] == "ok"
        assert not any(name in row["text"] + row["author"] for name in PEOPLE)
        for token in TOKEN.findall(row["text"] + " " + row["author"]):
            by_token.setdefault(token, set()).add(pii.restore(token))
    # every token stands for one value and every value has one token
    assert all(len(values) == 1 for values in by_token.values())
    values = [next(iter(v)) for v in by_token.values()]
    assert sorted(values) == sorted(PEOPLE)
    assert len(set(values)) == len(values)
    # the mapping saved on the driver restores every token in a new process' transformer
    path = tmp_path / "mapping.json"
    pii.save_mapping(path)
    fresh = transformer(emulator, strategy="pseudonymize")
    fresh.load_mapping(path)
    assert {t: fresh.restore(t) for t in by_token} == {t: pii.restore(t) for t in by_token}


def test_hash_tokens_match_across_workers(ray_cluster: Any, emulator: Emulator) -> None:
    pii = transformer(emulator, strategy="hash", batch_size=8)  # no hash_key: one is made
    rows = redacted_rows(ray_cluster, pii, 48, rows_per_batch=6)
    tokens_of: dict[str, set[str]] = {}
    for row in rows:
        name = corpus(48)[int(row["id"].split("-")[1])]["author"]
        tokens_of.setdefault(name, set()).add(row["author"])
    assert all(len(tokens) == 1 for tokens in tokens_of.values())
    assert len({next(iter(t)) for t in tokens_of.values()}) == len(PEOPLE)


@pytest.mark.parametrize("failed", ["keep", "drop"])
def test_failed_rows_carry_their_id_and_error_class_but_no_raw_text(
    ray_cluster: Any, emulator: Emulator, failed: str
) -> None:
    emulator.fastino.fail_marker = "#FAIL#"
    items = corpus(20)
    for item in items[::4]:
        item["text"] = f"#FAIL# {item['text']}"
    rows = redact_dataset(
        ray_cluster.data.from_items(items, override_num_blocks=2),
        transformer(emulator, batch_size=4),
        rows_per_batch=5,
        failed=failed,  # type: ignore[arg-type]
    ).take_all()
    bad = {item["id"] for item in items[::4]}
    if failed == "drop":
        assert {r["id"] for r in rows} == {i["id"] for i in items} - bad
        return
    failures = [r for r in rows if r["pii_status"] == "failed"]
    assert {r["id"] for r in failures} == bad
    for row in failures:
        assert row["text"] is None
        assert row["author"] is None  # a metadata column holding text is not kept either
        assert row["page"] == int(row["id"].split("-")[1])  # columns without text stay
        assert row["pii_error"] == "FastinoInputError"
        assert not any(name in str(row) for name in PEOPLE)
    assert all(r["pii_error"] is None for r in rows if r["pii_status"] == "ok")


def test_a_wrong_key_stops_the_run_with_the_typed_error(
    ray_cluster: Any, emulator: Emulator
) -> None:
    pii = FastinoPIITransformer(api_key="wrong", base_url=emulator.base_url, max_retries=0)
    ds = ray_cluster.data.from_items(corpus(4), override_num_blocks=1)
    with pytest.raises(Exception) as caught:  # Ray wraps the worker's error
        redact_dataset(ds, pii, concurrency=1).take_all()
    assert isinstance(caught.value, AuthenticationError) or "AuthenticationError" in str(
        caught.value
    )
