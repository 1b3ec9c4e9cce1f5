from __future__ import annotations

import logging
import pickle
import re
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document

from langchain_mlstudio import PIIDetectionError
from langchain_mlstudio._core import _progress
from langchain_mlstudio.emulator.fastino import detect
from langchain_mlstudio.fastino import FastinoClient, FastinoPIITransformer
from langchain_mlstudio.fastino.pseudonymizer import Pseudonymizer
from langchain_mlstudio.fastino.strategies import hash_token
from tests.support.fastino import (
    FakeFastino,
    entity,
    failing_when,
    make_transformer,
    run_transform,
    scripted,
    sync_and_async,
)

DOCS = [
    Document(
        "Jamie Derran (jamie.derran@example.com, +49 30 1234567) paid with "
        "4111 1111 1111 1111 from 192.168.0.12.",
        id="a",
        metadata={"source": "crm"},
    ),
    Document("Nothing personal here.", id="b"),
    Document(
        "Anna Rossi wrote to Jamie Derran. IBAN DE89 3704 0044 0532 0130 00.",
        id="c",
    ),
]


def detected_values(text: str) -> list[str]:
    return [e["text"] for e in detect(text)]


@sync_and_async
@pytest.mark.parametrize("strategy", ["redact", "mask", "hash", "pseudonymize"])
async def test_every_strategy_leaves_no_detected_value_in_the_output(
    fake: FakeFastino, strategy: str, mode: str
) -> None:
    out = await run_transform(mode, make_transformer(fake, strategy=strategy), DOCS)
    assert len(out) == len(DOCS)
    for original, doc in zip(DOCS, out, strict=True):
        values = detected_values(original.page_content)
        for value in values:
            assert value not in doc.page_content
        assert len(doc.metadata["pii_entities"]) == len(values)


def test_redact_writes_upper_case_labels_like_the_api(fake: FakeFastino) -> None:
    [doc] = make_transformer(fake).transform_documents([Document("Mail Jamie Derran today")])
    assert doc.page_content == "Mail <FULL_NAME> today"


def test_mask_keeps_the_length(fake: FakeFastino) -> None:
    text = "Mail Jamie Derran today"
    [doc] = make_transformer(fake, strategy="mask", mask_char="#").transform_documents(
        [Document(text)]
    )
    assert doc.page_content == "Mail ############ today"


def test_hash_is_stable_within_a_key_and_differs_across_keys(
    fake: FakeFastino,
) -> None:
    docs = [Document("Jamie Derran called."), Document("Later Jamie Derran left.")]
    one = make_transformer(fake, strategy="hash", hash_key="k1").transform_documents(docs)
    again = make_transformer(fake, strategy="hash", hash_key="k1").transform_documents(docs)
    other = make_transformer(fake, strategy="hash", hash_key="k2").transform_documents(docs)
    token = hash_token("full_name", "Jamie Derran", b"k1")
    assert re.fullmatch(r"<FULL_NAME_[0-9a-f]{8}>", token)
    assert [d.page_content for d in one] == [
        f"{token} called.",
        f"Later {token} left.",
    ]
    assert [d.page_content for d in again] == [d.page_content for d in one]
    assert token not in other[0].page_content


def test_pseudonymize_is_consistent_across_documents_and_calls(
    fake: FakeFastino,
) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    ns = pii.pseudonymizer.namespace
    first = pii.transform_documents([Document("Jamie Derran met Anna Rossi.")])
    second = pii.transform_documents([Document("Anna Rossi thanked Jamie Derran.")])
    assert first[0].page_content == f"<FULL_NAME_1_{ns}> met <FULL_NAME_2_{ns}>."
    assert second[0].page_content == f"<FULL_NAME_2_{ns}> thanked <FULL_NAME_1_{ns}>."


def test_restore_inverts_pseudonymize(fake: FakeFastino) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    out = pii.transform_documents(DOCS)
    for original, doc in zip(DOCS, out, strict=True):
        assert pii.restore(doc.page_content) == original.page_content


def test_saved_mapping_restores_in_a_new_transformer(fake: FakeFastino, tmp_path: Any) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    [doc] = pii.transform_documents([DOCS[0]])
    path = tmp_path / "mapping.json"
    pii.save_mapping(path)
    fresh = make_transformer(fake, strategy="pseudonymize")
    fresh.load_mapping(path)
    assert fresh.restore(doc.page_content) == DOCS[0].page_content
    # A loaded value keeps its token; a new one is numbered in the new mapping's namespace.
    jamie = pii.pseudonymizer.token("full_name", "Jamie Derran")
    [more] = fresh.transform_documents([Document("Anna Rossi and Jamie Derran")])
    assert more.page_content == f"<FULL_NAME_1_{fresh.pseudonymizer.namespace}> and {jamie}"


def test_mapping_round_trips_through_a_dict() -> None:
    p = Pseudonymizer()
    token = p.token("email", "a@b.example")
    copy = Pseudonymizer.from_dict(p.to_dict())
    assert copy.restore(token) == "a@b.example"
    assert copy.token("email", "c@d.example") == f"<EMAIL_1_{copy.namespace}>"
    assert p.restore(copy.token("email", "c@d.example")).startswith("<EMAIL_1_")


def test_loading_a_conflicting_mapping_is_refused(tmp_path: Any) -> None:
    p = Pseudonymizer()
    p.token("email", "a@b.example")
    other = Pseudonymizer(namespace=p.namespace)  # the same namespace: the same tokens
    other.token("email", "z@z.example")
    other.save(tmp_path / "other.json")
    with pytest.raises(ValueError, match="another value"):
        p.load(tmp_path / "other.json")


def test_a_name_straddling_a_chunk_boundary_is_redacted_with_original_offsets(
    fake: FakeFastino,
) -> None:
    filler = "lorem ipsum dolor sit amet " * 4
    prefix = "word " * 19  # 95 characters: the window of 100 ends inside the name
    text = prefix + "Jamie Derran signed. " + filler
    name_at = text.index("Jamie Derran")
    assert name_at < 100 < name_at + len("Jamie Derran")
    pii = make_transformer(fake, chunk_size=100, chunk_overlap=30, include_values=True)
    [doc] = pii.transform_documents([Document(text)])
    assert len(fake.texts()) > 1  # the document really was chunked
    assert all("Jamie Derran" not in t for t in fake.texts()[:1])
    assert "Jamie" not in doc.page_content
    assert "Derran" not in doc.page_content
    [entity] = doc.metadata["pii_entities"]
    assert (entity["start"], entity["end"]) == (name_at, name_at + 12)
    assert text[entity["start"] : entity["end"]] == entity["text"] == "Jamie Derran"


def test_long_document_finds_pii_in_every_chunk_with_original_offsets(
    fake: FakeFastino,
) -> None:
    sentences = [
        f"Customer {i} is Anna Rossi, reach her at anna{i}@example.com. " for i in range(40)
    ]
    text = "".join(sentences)
    pii = make_transformer(fake, chunk_size=300, chunk_overlap=80, include_values=True)
    [doc] = pii.transform_documents([Document(text)])
    assert "Anna Rossi" not in doc.page_content
    assert "@example.com" not in doc.page_content
    entities = doc.metadata["pii_entities"]
    assert len(entities) == 80  # no duplicates from overlaps
    assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)


def test_output_keeps_order_ids_and_caller_metadata(fake: FakeFastino) -> None:
    out = make_transformer(fake, batch_size=2).transform_documents(DOCS)
    assert [d.id for d in out] == ["a", "b", "c"]
    assert out[0].metadata["source"] == "crm"
    assert out[0].metadata["pii_strategy"] == "redact"
    assert out[0].metadata["pii_model_id"] == "fastino-pii"
    assert DOCS[0].page_content.startswith("Jamie Derran")  # inputs untouched


def test_entities_carry_no_raw_values_unless_asked(fake: FakeFastino) -> None:
    [doc] = make_transformer(fake).transform_documents([DOCS[0]])
    assert all(set(e) == {"label", "start", "end", "score"} for e in doc.metadata["pii_entities"])
    assert "Jamie" not in repr(doc.metadata)


def test_sends_entity_types_and_threshold(fake: FakeFastino) -> None:
    make_transformer(fake, entity_types=["full_name"], threshold=0.7).transform_documents([DOCS[0]])
    assert fake.requests[0]["input"][0]["parameters"] == {
        "entity_types": ["full_name"],
        "threshold": 0.7,
    }


def test_none_settings_leave_the_endpoint_defaults(fake: FakeFastino) -> None:
    make_transformer(fake, entity_types=None, threshold=None).transform_documents([DOCS[0]])
    assert "parameters" not in fake.requests[0]["input"][0]


def test_default_entity_types_cover_common_pii(fake: FakeFastino) -> None:
    make_transformer(fake).transform_documents([DOCS[0]])
    sent = fake.requests[0]["input"][0]["parameters"]["entity_types"]
    assert {"full_name", "email", "phone_number", "credit_card_number"} <= set(sent)


def test_batching_respects_batch_size_across_documents(fake: FakeFastino) -> None:
    docs = [Document(f"Doc {i} by Jamie Derran") for i in range(7)]
    make_transformer(fake, batch_size=3).transform_documents(docs)
    assert sorted(fake.batch_sizes) == [1, 3, 3]


async def test_async_batching_respects_batch_size(fake: FakeFastino) -> None:
    docs = [Document(f"Doc {i} by Jamie Derran") for i in range(7)]
    out = await make_transformer(fake, batch_size=2, max_concurrency=3).atransform_documents(docs)
    assert sorted(fake.batch_sizes) == [1, 2, 2, 2]
    assert [d.page_content for d in out] == [f"Doc {i} by <FULL_NAME>" for i in range(7)]


def test_empty_documents_send_nothing(fake: FakeFastino) -> None:
    out = make_transformer(fake).transform_documents([Document("   ", id="e")])
    assert fake.requests == []
    assert out[0].page_content == "   "
    assert out[0].metadata["pii_entities"] == []


def _server_error(_i: int, _b: dict[str, Any]) -> httpx.Response:
    return httpx.Response(500, json={"message": "boom"})


def test_server_error_with_raise_raises_naming_documents_not_text(
    fake: FakeFastino,
) -> None:
    fake.override = _server_error
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake, max_retries=0).transform_documents(DOCS)
    err = info.value
    assert err.document_ids == ["a", "b", "c"]
    assert "Jamie" not in str(err)
    assert set(err.causes) == {"a", "b", "c"}


def test_server_error_with_drop_drops_and_logs_ids(
    fake: FakeFastino, caplog: pytest.LogCaptureFixture
) -> None:
    fake.override = failing_when("Derran", 500, "boom")
    with caplog.at_level(logging.WARNING, logger="langchain_mlstudio.fastino"):
        out = make_transformer(fake, max_retries=0, on_error="drop").transform_documents(DOCS)
    assert [d.id for d in out] == ["b"]
    assert "a, c" in caplog.text
    assert "Jamie" not in caplog.text
    assert all("Derran" not in d.page_content for d in out)


async def test_async_server_error_with_drop_never_passes_raw_text(
    fake: FakeFastino,
) -> None:
    fake.override = _server_error
    out = await make_transformer(fake, max_retries=0, on_error="drop").atransform_documents(DOCS)
    assert out == []


def test_one_failed_chunk_fails_the_whole_document(fake: FakeFastino) -> None:
    text = ("word " * 30) + "Jamie Derran " + ("word " * 30)

    def fail_second_chunk(i: int, _b: dict[str, Any]) -> httpx.Response | None:
        return httpx.Response(500, json={"message": "x"}) if i == 1 else None

    fake.override = fail_second_chunk
    pii = make_transformer(fake, chunk_size=60, chunk_overlap=10, on_error="drop", max_retries=0)
    assert pii.transform_documents([Document(text, id="long")]) == []


def test_failed_input_status_fails_its_document_closed(fake: FakeFastino) -> None:
    def error_status(_i: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(
            200,
            json=[{"input": it["text"], "status": "error", "output": {}} for it in body["input"]],
        )

    fake.override = error_status
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents([DOCS[0]])
    assert info.value.document_ids == ["a"]


def test_entity_not_in_the_text_fails_the_document_closed(fake: FakeFastino) -> None:
    fake.override = scripted([entity(0, 5, "Zelda", score=1)])
    pii = make_transformer(fake, on_error="drop")
    assert pii.transform_documents([Document("Hi Jamie", id="x")]) == []


def test_entity_whose_offsets_fit_no_convention_fails_closed(fake: FakeFastino) -> None:
    # Changed by issue 9: offsets that match the entity's text in no reading
    # (code points, UTF-16, UTF-8) fail the document instead of being guessed.
    fake.override = scripted([entity(0, 5, "Jamie", score=1)])
    with pytest.raises(PIIDetectionError, match="no convention") as info:
        make_transformer(fake).transform_documents([Document("Hi Jamie!", id="x")])
    assert info.value.document_ids == ["x"]
    assert "Jamie" not in str(info.value)


def test_other_occurrences_of_a_found_value_are_replaced(fake: FakeFastino) -> None:
    fake.override = scripted([entity(0, 3, "Ann", score=1)])
    [doc] = make_transformer(fake).transform_documents([Document("Ann said Ann's Annual plan")])
    assert doc.page_content == "<FULL_NAME> said <FULL_NAME>'s Annual plan"


def test_pickled_transformer_keeps_its_settings_but_no_raw_value_of_its_mapping(
    fake: FakeFastino,
) -> None:
    # Changed by issue 9: a pickle (what Ray and Spark ship) used to carry the mapping.
    pii = make_transformer(fake, strategy="pseudonymize", batch_size=3)
    [doc] = pii.transform_documents([DOCS[0]])
    data = pickle.dumps(pii)
    for value in detected_values(DOCS[0].page_content):
        assert value.encode() not in data
    copy = pickle.loads(data)
    assert copy.strategy == "pseudonymize"
    assert copy.client is not None
    assert copy.client.batch_size == 3
    assert copy.restore(doc.page_content) == doc.page_content  # nothing to restore with
    assert copy.pseudonymizer.namespace != pii.pseudonymizer.namespace
    copy.client.http_client = httpx.Client(transport=httpx.MockTransport(fake.handler))
    [mine] = copy.transform_documents([Document("Jamie Derran and Anna Rossi")])
    ns = copy.pseudonymizer.namespace
    assert mine.page_content == f"<FULL_NAME_1_{ns}> and <FULL_NAME_2_{ns}>"
    # The worker's tokens never resolve to the original's people, and vice versa.
    assert pii.restore(mine.page_content) == mine.page_content
    assert copy.restore(doc.page_content) == doc.page_content


def test_hash_without_a_key_travels_with_the_pickle(fake: FakeFastino) -> None:
    pii = make_transformer(fake, strategy="hash")
    [one] = pii.transform_documents([Document("Jamie Derran")])
    copy = pickle.loads(pickle.dumps(pii))
    copy.client.http_client = httpx.Client(transport=httpx.MockTransport(fake.handler))  # type: ignore[union-attr]
    [two] = copy.transform_documents([Document("Jamie Derran")])
    assert one.page_content == two.page_content


def test_progress_callback_counts_inputs(fake: FakeFastino) -> None:
    seen: list[tuple[int, int]] = []
    make_transformer(
        fake, batch_size=2, progress_callback=lambda d, t: seen.append((d, t))
    ).transform_documents(DOCS)
    assert seen[-1] == (3, 3)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@sync_and_async
async def test_progress_shows_documents_done_of_total(
    fake: FakeFastino, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    await run_transform(mode, make_transformer(fake, progress=True, batch_size=1), DOCS)
    assert "Fastino PII: 3/3 documents" in capsys.readouterr().err


def test_progress_counts_a_chunked_document_once_all_its_chunks_are_back(
    fake: FakeFastino, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "tqdm_class", lambda: None)  # the plain line
    long = Document(" ".join(["Jamie Derran lives in Oslo."] * 40))
    pii = make_transformer(
        fake, progress=True, batch_size=1, chunk_size=200, chunk_overlap=0, max_concurrency=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pii.transform_documents([long, Document("Anna Rossi")])
    assert len(fake.requests) > 2  # the long document took several requests
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("Fastino PII: 0/2 documents (0%)")
    assert lines[-1].startswith("Fastino PII: 2/2 documents (100%), done in")


def test_progress_false_shows_nothing(
    fake: FakeFastino, capsys: pytest.CaptureFixture[str]
) -> None:
    make_transformer(fake, progress=False, batch_size=1).transform_documents(DOCS)
    assert capsys.readouterr().err == ""


def test_chunk_overlap_must_be_smaller_than_chunk_size() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        FastinoPIITransformer(api_key="k", chunk_size=100, chunk_overlap=100)


def test_hash_key_never_appears_in_repr() -> None:
    pii = FastinoPIITransformer(api_key="api-secret", strategy="hash", hash_key="hk-secret")
    assert "hk-secret" not in repr(pii)
    assert "api-secret" not in repr(pii)


def test_settings_build_a_client_with_batching_and_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTINO_API_KEY", "env-key")
    pii = FastinoPIITransformer(batch_size=32, requests_per_second=5, base_url="https://x.test")
    client = pii.fastino_client
    assert (client.batch_size, client.requests_per_second, client.base_url) == (
        32,
        5,
        "https://x.test",
    )
    assert client.api_key is not None
    assert client.api_key.get_secret_value() == "env-key"


def test_success_without_an_entities_list_fails_closed(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        200, json=[{"input": it["text"], "status": "success", "output": {}} for it in body["input"]]
    )
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents([DOCS[0]])
    assert info.value.document_ids == ["a"]


def test_result_without_status_fails_closed(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(200, json=[{} for _ in body["input"]])
    assert make_transformer(fake, on_error="drop").transform_documents([DOCS[0]]) == []


def test_transformer_with_a_progress_callback_pickles_without_it(fake: FakeFastino) -> None:
    seen: list[tuple[int, int]] = []
    pii = make_transformer(fake, progress_callback=lambda d, t: seen.append((d, t)))
    copy = pickle.loads(pickle.dumps(pii))
    assert copy.progress_callback is None
    assert pii.progress_callback is not None
    copy.client.http_client = httpx.Client(transport=httpx.MockTransport(fake.handler))  # type: ignore[union-attr]
    [doc] = copy.transform_documents([Document("Jamie Derran")])
    assert doc.page_content == "<FULL_NAME>"
    assert seen == []


@pytest.mark.parametrize("use_async", [False, True])
async def test_all_chunks_go_through_one_client_call_with_the_transformers_concurrency(
    fake: FakeFastino, monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    pii = make_transformer(fake, batch_size=2, max_concurrency=3)
    calls: list[tuple[list[str], Any]] = []
    name = "arun" if use_async else "run"
    original = getattr(FastinoClient, name)

    def spy(self: FastinoClient, model_id: str, inputs: list[str], **kwargs: Any) -> Any:
        calls.append((list(inputs), kwargs.get("max_concurrency")))
        return original(self, model_id, inputs, **kwargs)

    monkeypatch.setattr(FastinoClient, name, spy)
    if use_async:
        await pii.atransform_documents(DOCS)
    else:
        pii.transform_documents(DOCS)
    assert calls == [([d.page_content for d in DOCS], 3)]
    assert sorted(fake.batch_sizes) == [1, 2]
