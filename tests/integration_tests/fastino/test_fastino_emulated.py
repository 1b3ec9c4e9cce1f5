"""The Fastino client, transformer and tool against the emulated ``/run``."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_mlstudio import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PIIDetectionError,
)
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.fastino import (
    FastinoClient,
    FastinoInputError,
    FastinoPIITool,
    FastinoPIITransformer,
)
from tests.support.emulator import peak_in_window

API_KEY = "fastino-it-key"

CUSTOMER_NOTE = (
    "Jamie Derran (jamie.derran@example.com, +49 30 1234567) called at 9:30 AM "
    "on 2024-03-15 about card 4111 1111 1111 1111 and IBAN "
    "DE89 3704 0044 0532 0130 00; login from 192.168.0.12."
)
RAW_VALUES = [
    "Jamie Derran",
    "jamie.derran@example.com",
    "+49 30 1234567",
    "9:30 AM",
    "2024-03-15",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "192.168.0.12",
]


def client_for(emu: Emulator, **kwargs: Any) -> FastinoClient:
    kwargs.setdefault("api_key", API_KEY)
    return FastinoClient(base_url=emu.base_url, **kwargs)


class TestFastinoPIIToolIntegration(ToolsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _emulator(self, emulator: Emulator) -> None:
        self._emu = emulator

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return FastinoPIITool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"api_key": API_KEY, "base_url": self._emu.base_url}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": "Call Jamie Derran at jamie@example.com"}


# -- client ---------------------------------------------------------------


def test_run_matches_the_documented_example(emulator: Emulator) -> None:
    [result] = client_for(emulator).run(
        "fastino-pii",
        ["9 AM for a Sedan for Jamie Derran"],
        parameters={"entity_types": ["full_name", "car", "time"], "threshold": 0.3},
    )
    assert result.status == "success"
    assert result.redacted_text == "<TIME> for a Sedan for <FULL_NAME>"
    assert [(e.label, e.text, e.start, e.end) for e in result.entities] == [
        ("time", "9 AM", 0, 4),
        ("full_name", "Jamie Derran", 21, 33),
    ]


def test_emulator_honours_threshold_and_unknown_labels(emulator: Emulator) -> None:
    client = client_for(emulator, batch_size=2)
    high, unknown = client.run(
        "fastino-pii",
        [
            {"text": "9 AM, Jamie Derran", "parameters": {"threshold": 0.9}},
            {"text": "9 AM, Jamie Derran", "parameters": {"entity_types": ["car"]}},
        ],
    )
    assert [e.label for e in high.entities] == ["full_name"]
    assert unknown.entities == []


def test_wrong_key_is_401_and_says_keys_need_a_minute(emulator: Emulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        client_for(emulator, api_key="wrong").run("fastino-pii", ["x"])
    assert info.value.status_code == 401
    assert "minute to propagate" in str(info.value)


def test_batch_larger_than_the_plan_allows_is_a_400(emulator: Emulator) -> None:
    emulator.fastino.max_batch_size = 1  # a Build plan
    with pytest.raises(BadRequestError, match="exceeds the maximum"):
        client_for(emulator, batch_size=2).run("fastino-pii", ["a", "b"])


def test_default_batch_size_works_on_a_single_input_plan(emulator: Emulator) -> None:
    emulator.fastino.max_batch_size = 1
    results = client_for(emulator).run("fastino-pii", ["a", "b", "c"])
    assert len(results) == 3
    assert emulator.fastino.batch_sizes == [1, 1, 1]


def test_text_longer_than_the_maximum_is_a_400(emulator: Emulator) -> None:
    emulator.fastino.max_text_length = 10
    with pytest.raises(BadRequestError, match="longer than"):
        client_for(emulator).run("fastino-pii", ["x" * 11])


def test_invalid_threshold_is_a_400(emulator: Emulator) -> None:
    with pytest.raises(BadRequestError, match="threshold"):
        client_for(emulator).run("fastino-pii", ["x"], parameters={"threshold": 2})


def test_batching_respects_batch_size(emulator: Emulator) -> None:
    texts = [f"Note {i} from Anna Rossi" for i in range(10)]
    results = client_for(emulator, batch_size=4).run("fastino-pii", texts)
    assert [r.input for r in results] == texts
    assert sorted(emulator.fastino.batch_sizes) == [2, 4, 4]  # sent from several threads


def test_per_input_error_status_becomes_an_error_for_that_input(
    emulator: Emulator,
) -> None:
    emulator.fastino.fail_marker = "@@fail@@"
    results = client_for(emulator, batch_size=3).run(
        "fastino-pii", ["ok", "bad @@fail@@", "ok"], return_exceptions=True
    )
    assert isinstance(results[1], FastinoInputError)
    assert results[1].index == 1
    assert not isinstance(results[0], Exception)
    assert not isinstance(results[2], Exception)


def test_429_with_retry_after_is_retried(emulator: Emulator) -> None:
    emulator.faults.add(Fault(status=429, headers={"Retry-After": "0"}, path="^/run$", times=1))
    [result] = client_for(emulator).run("fastino-pii", ["Hi Jamie Derran"])
    assert result.entities
    assert emulator.log.count("POST", "^/run$") == 2


async def test_rate_limit_holds_under_async_concurrency(emulator: Emulator) -> None:
    client = client_for(emulator, requests_per_second=10, max_concurrency=8)
    texts = [f"Message {i} from Jamie Derran" for i in range(12)]
    # Three concurrent calls of 12 single-input requests each, on one instance.
    await asyncio.gather(*(client.arun("fastino-pii", texts) for _ in range(3)))
    arrivals = emulator.fastino.arrivals()
    assert len(arrivals) == 36
    assert peak_in_window(arrivals) <= 10


def test_rate_limit_is_shared_by_sync_and_async_callers(emulator: Emulator) -> None:
    client = client_for(emulator, requests_per_second=10)
    texts = [f"Ping {i}" for i in range(8)]
    # Warm both HTTP clients up first: creating one (its TLS context) holds the
    # GIL long enough to delay the other thread's request in this one process.
    client.run("fastino-pii", ["warm-up"])

    async def main() -> None:
        await client.arun("fastino-pii", ["warm-up"])
        await asyncio.gather(
            asyncio.to_thread(client.run, "fastino-pii", texts),
            client.arun("fastino-pii", texts),
        )

    asyncio.run(main())
    arrivals = emulator.fastino.arrivals()
    assert len(arrivals) == 18
    assert peak_in_window(arrivals) <= 10


def test_retries_count_against_the_rate_limit(emulator: Emulator) -> None:
    emulator.faults.add(Fault(status=503, path="^/run$", times=4))
    client = client_for(emulator, requests_per_second=10, max_retries=2)
    client.run("fastino-pii", [f"t{i}" for i in range(8)])
    entries = emulator.log.matching("POST", "^/run$")
    assert len(entries) == 12  # 8 successes + 4 retried failures
    assert [e.status for e in entries[:4]] == [503] * 4
    assert peak_in_window([e.at for e in entries]) <= 10


# -- transformer ------------------------------------------------------------


def transformer_for(emu: Emulator, **kwargs: Any) -> FastinoPIITransformer:
    return FastinoPIITransformer(api_key=API_KEY, base_url=emu.base_url, **kwargs)


@pytest.mark.parametrize("strategy", ["redact", "mask", "hash", "pseudonymize"])
async def test_every_strategy_removes_every_detected_value(
    emulator: Emulator, strategy: str
) -> None:
    pii = transformer_for(emulator, strategy=strategy, entity_types=None)
    [doc] = await pii.atransform_documents([Document(CUSTOMER_NOTE, id="n1")])
    for value in RAW_VALUES:
        assert value not in doc.page_content
    assert len(doc.metadata["pii_entities"]) == len(RAW_VALUES)


def test_restore_inverts_pseudonymize_end_to_end(emulator: Emulator) -> None:
    pii = transformer_for(emulator, strategy="pseudonymize", entity_types=None)
    docs = [Document(CUSTOMER_NOTE), Document("Later, Jamie Derran wrote again.")]
    out = pii.transform_documents(docs)
    # Changed by issue 9: tokens carry the mapping's namespace; restore is scoped.
    token = f"<FULL_NAME_1_{pii.pseudonymizer.namespace}>"
    assert token in out[0].page_content
    assert out[1].page_content == f"Later, {token} wrote again."
    assert [pii.restore(d.page_content, scope=out) for d in out] == [d.page_content for d in docs]


@pytest.mark.parametrize("unit", ["UTF-16 units", "UTF-8 bytes"])
def test_offsets_the_emulator_counts_in_utf16_or_utf8_redact_every_occurrence(
    emulator: Emulator, unit: str
) -> None:
    emulator.fastino.offset_unit = unit
    # Enough emoji and CJK before two close occurrences that offsets read as code
    # points would land both entities on the same one.
    text = "🙂" * 10 + " 中文中文中文中文 Jamie Derran, Jamie Derran, jamie.derran@example.com"
    pii = transformer_for(emulator, replace_all_occurrences=False, include_values=True)
    [doc] = pii.transform_documents([Document(text)])
    assert "Jamie" not in doc.page_content
    assert "jamie.derran@" not in doc.page_content
    assert all(text[e["start"] : e["end"]] == e["text"] for e in doc.metadata["pii_entities"])


def test_a_batch_the_emulator_answers_in_reverse_is_rematched_by_its_echo(
    emulator: Emulator,
) -> None:
    emulator.fastino.answer_order = "reversed"
    docs = [Document("Jamie Derran paid.", id="a"), Document("Mail anna@example.com", id="b")]
    out = transformer_for(emulator, batch_size=2).transform_documents(docs)
    assert [d.page_content for d in out] == ["<FULL_NAME> paid.", "Mail <EMAIL>"]
    assert emulator.fastino.batch_sizes == [2]


def test_wrong_key_raises_the_authentication_error_with_its_fix(emulator: Emulator) -> None:
    pii = FastinoPIITransformer(api_key="wrong", base_url=emulator.base_url, on_error="drop")
    with pytest.raises(AuthenticationError, match="FASTINO_API_KEY") as info:
        pii.transform_documents([Document("Jamie Derran", id="a"), Document("Anna", id="b")])
    assert "60 s" in str(info.value)


def test_name_straddling_a_chunk_boundary_is_redacted(emulator: Emulator) -> None:
    text = ("alpha beta gamma " * 6) + "Anna Rossi signed here. " + ("delta " * 40)
    at = text.index("Anna Rossi")
    pii = transformer_for(emulator, chunk_size=110, chunk_overlap=40, include_values=True)
    [doc] = pii.transform_documents([Document(text)])
    assert at < 110 < at + len("Anna Rossi")
    assert emulator.fastino.requests > 1
    assert "Anna" not in doc.page_content
    assert "Rossi" not in doc.page_content
    [entity] = doc.metadata["pii_entities"]
    assert (entity["start"], entity["end"], entity["text"]) == (at, at + 10, "Anna Rossi")


def test_server_error_with_raise_raises_without_text(emulator: Emulator) -> None:
    emulator.faults.add(Fault(status=500, path="^/run$", times=None))
    pii = transformer_for(emulator, max_retries=1)
    with pytest.raises(PIIDetectionError) as info:
        pii.transform_documents([Document(CUSTOMER_NOTE, id="n1")])
    assert info.value.document_ids == ["n1"]
    assert "Jamie" not in str(info.value)


async def test_server_error_with_drop_drops_only_failed_documents(
    emulator: Emulator,
) -> None:
    emulator.fastino.fail_marker = "Derran"
    pii = transformer_for(emulator, on_error="drop", batch_size=8)
    docs = [
        Document(CUSTOMER_NOTE, id="n1"),
        Document("Anna Rossi only", id="n2"),
        Document("Hi Jamie Derran", id="n3"),
    ]
    out = await pii.atransform_documents(docs)
    assert [d.id for d in out] == ["n2"]
    assert out[0].page_content == "<FULL_NAME> only"


def test_dropped_connection_fails_closed(emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="drop_mid", path="^/run$", times=None))
    pii = transformer_for(emulator, on_error="drop", max_retries=1)
    assert pii.transform_documents([Document(CUSTOMER_NOTE, id="n1")]) == []


def test_non_json_answer_fails_closed(emulator: Emulator) -> None:
    emulator.faults.add(Fault(kind="non_json", path="^/run$", times=None))
    with pytest.raises(PIIDetectionError):
        transformer_for(emulator).transform_documents([Document(CUSTOMER_NOTE)])


def test_transformer_batches_chunks_of_many_documents(emulator: Emulator) -> None:
    docs = [Document(f"Doc {i}: Jamie Derran, jamie{i}@example.com") for i in range(20)]
    out = transformer_for(emulator, batch_size=8).transform_documents(docs)
    assert len(out) == 20
    assert sorted(emulator.fastino.batch_sizes) == [4, 8, 8]


def test_pickled_transformer_works_after_unpickling(emulator: Emulator) -> None:
    pii = transformer_for(emulator, strategy="hash", hash_key="shared", batch_size=4)
    [before] = pii.transform_documents([Document(CUSTOMER_NOTE)])
    copy = pickle.loads(pickle.dumps(pii))
    [after] = copy.transform_documents([Document(CUSTOMER_NOTE)])
    assert after.page_content == before.page_content
    # A separately configured worker with the same key agrees as well.
    worker = transformer_for(emulator, strategy="hash", hash_key="shared")
    [other] = worker.transform_documents([Document(CUSTOMER_NOTE)])
    assert other.page_content == before.page_content


async def test_transformer_in_new_event_loops(emulator: Emulator) -> None:
    pii = transformer_for(emulator)
    first = await pii.atransform_documents([Document("Hi Jamie Derran")])

    def other_loop() -> list[Document]:
        return list(asyncio.run(pii.atransform_documents([Document("Hi Anna Rossi")])))

    second = await asyncio.to_thread(other_loop)
    assert first[0].page_content == "Hi <FULL_NAME>"
    assert second[0].page_content == "Hi <FULL_NAME>"


# -- tool ---------------------------------------------------------------------


def test_tool_reports_entities_from_the_emulator(emulator: Emulator) -> None:
    # Changed by issue 9: the artifact carries values only with include_values=True.
    tool = FastinoPIITool(api_key=API_KEY, base_url=emulator.base_url, include_values=True)
    msg = tool.invoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": tool.name,
            "args": {"text": "Mail jamie@example.com", "entity_types": ["email"]},
        }
    )
    assert msg.content == "Mail <EMAIL>\n\nFound 1 entity: 1 email."
    assert msg.artifact[0]["text"] == "jamie@example.com"


def test_tool_error_becomes_an_error_message(emulator: Emulator) -> None:
    tool = FastinoPIITool(api_key="wrong", base_url=emulator.base_url, handle_tool_error=True)
    msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": {"text": "hi"}})
    assert msg.status == "error"
    assert "propagate" in msg.content


def test_unknown_model_is_not_found(emulator: Emulator) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        client_for(emulator).run("no-such-model", ["x"])
