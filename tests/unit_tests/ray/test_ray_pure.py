"""The Ray helpers' parts that need no cluster: rows, keys, the ledger, the missing extra."""

from __future__ import annotations

import asyncio
import importlib
import pickle
import sys
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document

from langchain_mlstudio import ChatIonosModelStudio, FastinoPIITransformer
from langchain_mlstudio.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    RateLimitError,
    ServerError,
)
from langchain_mlstudio.ray import RayNotInstalledError, generate_dataset, redact_dataset
from langchain_mlstudio.ray._coordinator import RunCoordinator
from langchain_mlstudio.ray._generate import ModelRecipe, no_job_created
from langchain_mlstudio.ray._redact import RedactionWorker
from langchain_mlstudio.ray._rows import RedactionLayout, conversation_of, job_key
from langchain_mlstudio.ray._shared import SharedPseudonymizer
from tests.support.fastino import FakeFastino

LAYOUT = RedactionLayout("text", "id", "pii_entities", frozenset({"source"}), True)


# -- without Ray --------------------------------------------------------------


@pytest.fixture
def without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "ray" or name.startswith(("ray.", "langchain_mlstudio.ray")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError


@pytest.mark.usefixtures("without_ray")
def test_the_module_imports_without_ray_and_its_functions_name_the_extra() -> None:
    module = importlib.import_module("langchain_mlstudio.ray")
    for call in (
        lambda: module.redact_dataset(object(), FastinoPIITransformer(api_key="k")),
        lambda: module.generate_dataset(
            object(), ChatIonosModelStudio(model="m", api_key="k", organization_id="o")
        ),
    ):
        with pytest.raises(ImportError) as caught:
            call()
        assert isinstance(caught.value, module.RayNotInstalledError)
        assert "pip install 'langchain-mlstudio[ray]'" in str(caught.value)


def test_wrong_arguments_fail_before_any_cluster_is_touched() -> None:
    with pytest.raises(ConfigurationError, match="FastinoPIITransformer"):
        redact_dataset(object(), object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ChatModelStudio"):
        generate_dataset(object(), object())  # type: ignore[arg-type]
    assert issubclass(RayNotInstalledError, ImportError)


# -- rows ---------------------------------------------------------------------


def test_a_row_becomes_a_document_with_its_other_columns_as_metadata() -> None:
    doc = LAYOUT.document({"id": 3, "text": "Hi", "author": "Ann", "source": "crm"})
    assert (doc.id, doc.page_content, doc.metadata) == (
        "3",
        "Hi",
        {"author": "Ann", "source": "crm"},
    )
    with pytest.raises(InvalidInputError):
        LAYOUT.document({"id": 3, "text": None})
    with pytest.raises(ConfigurationError, match="no text column 'text'"):
        LAYOUT.document({"id": 3, "body": "Hi"})


def test_a_failed_row_keeps_its_id_and_textless_columns_and_nothing_with_text() -> None:
    row = {"id": "d1", "text": "Jamie Derran", "tags": ["Jamie"], "n": 4, "source": "crm"}
    out = LAYOUT.failed(row, TimeoutError("Jamie Derran"))
    assert out == {
        "id": "d1",
        "text": None,
        "tags": None,
        "n": 4,
        "source": "crm",  # a keep_metadata_keys column
        "pii_status": "failed",
        "pii_error": "TimeoutError",  # the class, never the message
        "pii_entities": None,
    }


def test_a_redacted_row_takes_the_documents_text_and_metadata() -> None:
    row = {"id": "d1", "text": "raw", "author": "raw", "n": 1}
    doc = Document("<FULL_NAME>", metadata={"author": "<FULL_NAME>", "n": 1, "pii_entities": []})
    out = LAYOUT.redacted(row, doc)
    assert out["text"] == out["author"] == "<FULL_NAME>"
    assert (out["pii_status"], out["pii_error"], out["pii_entities"]) == ("ok", None, "[]")


def test_prompts_become_conversations_and_bad_ones_fail_alone() -> None:
    assert conversation_of("Hi") == [{"role": "user", "content": "Hi"}]
    assert conversation_of([("system", "S"), {"role": "user", "content": "U"}])[1]["content"] == "U"
    for bad in (3, [{"role": "wizard", "content": "x"}]):
        with pytest.raises(InvalidInputError):
            conversation_of(bad)


def test_job_keys_are_stable_per_rows_and_differ_by_ids_or_content() -> None:
    conversations = [conversation_of("a"), conversation_of("b")]
    key = job_key([1, 2], conversations)
    assert key == job_key([1, 2], [conversation_of("a"), conversation_of("b")])
    assert key != job_key([2, 1], conversations)
    assert key != job_key([1, 2], [conversation_of("a"), conversation_of("c")])


def test_only_a_refused_or_unsent_submission_may_be_sent_again() -> None:
    unsent = APIConnectionError("refused")
    unsent.__cause__ = httpx.ConnectError("refused")
    lost = APIConnectionError("lost")
    lost.__cause__ = httpx.ReadError("lost")
    assert no_job_created(RateLimitError("busy", status_code=429))
    assert no_job_created(AuthenticationError("key", status_code=401))
    assert no_job_created(unsent)
    assert not no_job_created(lost)
    assert not no_job_created(APITimeoutError("slow"))
    assert not no_job_created(ServerError("oops", status_code=500))


def test_a_model_recipe_rebuilds_the_settings_but_not_injected_clients() -> None:
    client = httpx.Client()
    llm = ChatIonosModelStudio(
        model="m", api_key="k", organization_id="o", max_batch_size=7, http_client=client
    )
    again = ModelRecipe.of(llm).build()
    assert type(again) is ChatIonosModelStudio
    assert (again.max_batch_size, again.max_concurrent_jobs) == (7, 3)
    assert again.api_key is not None
    assert again.api_key.get_secret_value() == "k"
    assert again.http_client is None
    client.close()


# -- the coordinator's ledger and slots (the actor's class, without Ray) -------


def test_the_ledger_hands_a_recorded_job_to_a_retry_and_never_a_second_submission() -> None:
    async def scenario() -> list[Any]:
        run = RunCoordinator(requests_per_second=None, job_slots=1, mapping=None)
        seen = [await run.claim("a")]
        await run.record("a", "job-1")
        seen.append(await run.claim("a"))  # a retry resumes
        seen.append(await run.claim("b"))
        seen.append(await run.claim("b"))  # b's attempt died mid-submit
        await run.abandon("b")  # (or it provably created nothing)
        seen.append(await run.claim("b"))
        return seen

    assert asyncio.run(scenario()) == [
        ("submit", None),
        ("resume", "job-1"),
        ("submit", None),
        ("unknown", None),
        ("submit", None),
    ]


def test_job_slots_are_held_per_key_and_capped_for_the_run() -> None:
    async def scenario() -> dict[str, int]:
        run = RunCoordinator(requests_per_second=None, job_slots=2, mapping=None)
        await run.acquire_slot("a")
        await run.acquire_slot("a")  # a retry of a's task keeps a's slot
        await run.acquire_slot("b")
        third = asyncio.create_task(run.acquire_slot("c"))
        await asyncio.sleep(0.01)
        waiting = not third.done()
        await run.release_slot("a")
        await asyncio.wait_for(third, 1)
        stats = await run.stats()
        return {"waiting": int(waiting), **stats}

    stats = asyncio.run(scenario())
    assert stats["waiting"] == 1
    assert stats["peak_slots"] == 2
    assert stats["slots_in_use"] == 2


def test_the_coordinators_mapping_continues_the_drivers() -> None:
    pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
    known = pii.pseudonymizer.token("full_name", "Ann Lee")

    async def scenario() -> list[str]:
        run = RunCoordinator(
            requests_per_second=None, job_slots=None, mapping=pii.pseudonymizer.to_dict()
        )
        return await run.tokens([("full_name", "Ann Lee"), ("full_name", "Bo Kim")])

    same, new = asyncio.run(scenario())
    assert same == known
    assert new != known
    assert new.endswith(f"_{pii.pseudonymizer.namespace}>")


def test_the_run_mapping_keeps_what_it_fetched_once_ray_is_shut_down() -> None:
    import ray

    assert not ray.is_initialized()
    shared = SharedPseudonymizer(coordinator=None, namespace="RUN")
    token = "<FULL_NAME_1_RUN>"
    shared.merge({"entries": [{"label": "FULL_NAME", "value": "Ann Lee", "token": token}]})
    pii = FastinoPIITransformer(api_key="k", strategy="pseudonymize")
    pii.use_pseudonymizer(shared)
    assert pii.restore(f"Ask {token} or <FULL_NAME_2_RUN>") == "Ask Ann Lee or <FULL_NAME_2_RUN>"
    copy = pickle.loads(pickle.dumps(pii))
    assert copy.restore(token) == token  # a pickle carries no raw value
    assert copy.pseudonymizer.namespace == "RUN"


# -- one batch in a worker (socket-free) ------------------------------------------


def redactor(fake: FakeFastino, **layout: Any) -> RedactionWorker:
    pii = FastinoPIITransformer(client=fake.make_client(max_retries=0), entity_types=["full_name"])
    return RedactionWorker(pii, LAYOUT, drop_failed=False)


def test_a_batch_marks_the_rows_whose_detection_failed_and_redacts_the_rest() -> None:
    def fail_second(index: int, body: dict[str, Any]) -> httpx.Response | None:
        if "Anna" in body["input"][0]["text"]:
            return httpx.Response(500, json={"message": "Anna Rossi broke me"})
        return None

    fake = FakeFastino(override=fail_second)
    rows = [
        {"id": 1, "text": "Jamie Derran called", "n": 1},
        {"id": 2, "text": "Anna Rossi called", "n": 2},
        {"id": 3, "text": None, "n": 3},
    ]
    out = redactor(fake).rows(rows)
    assert [r["pii_status"] for r in out] == ["ok", "failed", "failed"]
    assert out[0]["text"] == "<FULL_NAME> called"
    assert [r["pii_error"] for r in out[1:]] == ["ServerError", "InvalidInputError"]
    assert "Anna" not in str(out)


def test_a_batch_where_every_row_failed_for_a_wrong_key_stops_the_run() -> None:
    fake = FakeFastino()
    pii = FastinoPIITransformer(
        client=fake.make_client(api_key="wrong", max_retries=0), entity_types=["full_name"]
    )
    with pytest.raises(AuthenticationError):
        RedactionWorker(pii, LAYOUT, drop_failed=False).rows(
            [{"id": 1, "text": "Jamie Derran"}, {"id": 2, "text": "  "}, {"id": 3, "text": None}]
        )
