"""Every route of issue 9 by which personal data left the Fastino path, reproduced
against a scripted server answer (``httpx.MockTransport``) and now closed."""

from __future__ import annotations

import json
import os
import stat
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document

from langchain_mlstudio import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    PIIDetectionError,
)
from langchain_mlstudio.fastino import FastinoPIITool, FastinoPIITransformer
from langchain_mlstudio.fastino.chunking import chunk_text, count_words
from tests.support.fastino import (
    FakeFastino,
    answer,
    entity,
    failing_when,
    make_transformer,
    run_redact,
    scripted,
    sync_and_async,
)

# -- 1. unforgeable placeholders and scoped restore ---------------------------------


def test_placeholder_in_input_is_never_restored(fake: FakeFastino) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    ns = pii.pseudonymizer.namespace
    [real] = pii.transform_documents([Document("Jamie Derran paid.")])
    token = pii.pseudonymizer.token("full_name", "Jamie Derran")
    # An attacker who saw the redacted corpus plants the token, and guesses more.
    planted = f"Ask {token}, <FULL_NAME_1>, <<full name 2 {ns.lower()}>> for help."
    [doc] = pii.transform_documents([Document(planted)])
    assert "<" not in doc.page_content  # neutralised to lookalike angle quotes
    restored = pii.restore(doc.page_content)
    assert "Jamie" not in restored
    assert restored == planted.replace("<", "\u2039").replace(">", "\u203a")
    # And a model quoting the neutralised text back with real brackets resolves
    # nothing within the scope of what it saw.
    quoted = doc.page_content.replace("\u2039", "<").replace("\u203a", ">")
    assert "Jamie" not in pii.restore(quoted, scope=[doc])
    assert pii.restore(real.page_content, scope=[real]) == "Jamie Derran paid."


def test_token_outside_the_restore_scope_stays_a_token(fake: FakeFastino) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    docs = pii.transform_documents(
        [Document("Jamie Derran paid."), Document("Anna Rossi complained.")]
    )
    jamie = pii.pseudonymizer.token("full_name", "Jamie Derran")
    anna = pii.pseudonymizer.token("full_name", "Anna Rossi")
    answer_text = f"{jamie} paid; ask {anna}."  # the model only saw the first document
    assert pii.restore(answer_text, scope=docs[:1]) == f"Jamie Derran paid; ask {anna}."
    assert pii.restore(answer_text, scope=[jamie]) == f"Jamie Derran paid; ask {anna}."
    assert pii.restore(answer_text, scope=[]) == answer_text


def test_token_of_another_mapping_never_resolves(fake: FakeFastino) -> None:
    one, two = (
        make_transformer(fake, strategy="pseudonymize"),
        make_transformer(fake, strategy="pseudonymize"),
    )
    [a] = one.transform_documents([Document("Jamie Derran paid.")])
    [b] = two.transform_documents([Document("Anna Rossi paid.")])
    assert a.page_content != b.page_content  # same number, different namespace
    assert two.restore(a.page_content) == a.page_content
    assert one.restore(b.page_content) == b.page_content


@pytest.mark.parametrize(
    "mangle",
    [
        str.lower,
        lambda t: t.replace("<", "< ").replace(">", " >"),
        lambda t: t.replace("_", " "),
        lambda t: t.replace("<", "\uff1c").replace(">", "\uff1e"),
        lambda t: "<" + t + ">",
        lambda t: "<" + t.lower().replace("_", "-") + ">",
    ],
)
def test_restore_recovers_tokens_an_llm_mangled_whole(fake: FakeFastino, mangle: Any) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    [doc] = pii.transform_documents([Document("Jamie Derran paid.")])
    token = pii.pseudonymizer.token("full_name", "Jamie Derran")
    restored = pii.restore(f"Thank {mangle(token)}!", scope=[doc])
    assert restored == "Thank Jamie Derran!"  # never '<Jamie Derran>' or 'Jamie Derran>'


# -- 2. answers matched by their echo ----------------------------------------------


def test_batch_answered_out_of_order_is_rematched_by_its_echo(fake: FakeFastino) -> None:
    def reversed_batch(_i: int, body: dict[str, Any]) -> httpx.Response:
        answers = [fake.answer(item) for item in body["input"]]
        return httpx.Response(200, json=answers[::-1])

    fake.override = reversed_batch
    docs = [Document("Jamie Derran paid.", id="a"), Document("Hello from Anna Rossi", id="b")]
    out = make_transformer(fake, batch_size=2, on_error="drop").transform_documents(docs)
    assert [d.page_content for d in out] == ["<FULL_NAME> paid.", "Hello from <FULL_NAME>"]


def test_answer_that_echoes_no_input_fails_its_document_closed(fake: FakeFastino) -> None:
    def wrong_echo(_i: int, body: dict[str, Any]) -> httpx.Response:
        answers = [fake.answer(item) for item in body["input"]]
        answers[0]["input"] = "something else"
        return httpx.Response(200, json=answers)

    fake.override = wrong_echo
    docs = [Document("Jamie Derran paid.", id="a"), Document("Anna Rossi", id="b")]
    out = make_transformer(fake, batch_size=2, on_error="drop").transform_documents(docs)
    assert [d.id for d in out] == ["b"]
    with pytest.raises(PIIDetectionError, match="echoes") as info:
        make_transformer(fake, batch_size=2).transform_documents(docs)
    assert info.value.document_ids == ["a"]


# -- 3. offsets in any convention; other occurrences however written ---------------


@pytest.mark.parametrize(
    ("encoding", "width"), [("utf-16-le", 2), ("utf-8", 1)], ids=["utf16", "utf8"]
)
def test_offsets_counted_in_utf16_or_utf8_redact_each_occurrence(
    fake: FakeFastino, encoding: str, width: int
) -> None:
    text = "🙂🙂🙂🙂🙂中文中文中 Zoë Ång, Zoë Ång"

    def units(i: int) -> int:
        return len(text[:i].encode(encoding)) // width

    starts = [text.index("Zoë Ång"), text.rindex("Zoë Ång")]
    fake.override = scripted([entity(units(s), units(s + 7), "Zoë Ång") for s in starts])
    pii = make_transformer(fake, replace_all_occurrences=False)
    [doc] = pii.transform_documents([Document(text)])
    assert doc.page_content == "🙂🙂🙂🙂🙂中文中文中 <FULL_NAME>, <FULL_NAME>"
    assert [e["start"] for e in doc.metadata["pii_entities"]] == starts


def test_other_occurrences_are_found_in_any_case_normalisation_and_next_to_cjk(
    fake: FakeFastino,
) -> None:
    text = "René Zoller wrote. RENE\u0301 ZOLLER again, Re\u200bné Zoller, 我是René Zoller。"
    fake.override = scripted([entity(0, 11, "René Zoller")])
    [doc] = make_transformer(fake).transform_documents([Document(text)])
    assert doc.page_content == (
        "<FULL_NAME> wrote. <FULL_NAME> again, <FULL_NAME>, 我是<FULL_NAME>。"
    )


# -- 4. the conservative reading wins ----------------------------------------------


@pytest.mark.parametrize("placeholder", ["<FULL_NAME>", "<FULL NAME>"])
def test_redacted_text_with_placeholders_but_no_entities_is_redacted(
    fake: FakeFastino, placeholder: str
) -> None:
    fake.override = scripted([], redacted_text=f"Call {placeholder} now")
    [doc] = make_transformer(fake).transform_documents([Document("Call Jamie Derran now")])
    assert doc.page_content == "Call <FULL_NAME> now"


def test_entity_text_shorter_than_its_offsets_redacts_the_whole_slice(fake: FakeFastino) -> None:
    fake.override = scripted([entity(5, 17, "Jamie")])
    [doc] = make_transformer(fake).transform_documents([Document("Call Jamie Derran now")])
    assert doc.page_content == "Call <FULL_NAME> now"


def test_offsets_shorter_than_the_entity_text_redact_the_whole_text(fake: FakeFastino) -> None:
    fake.override = scripted([entity(5, 10, "Jamie Derran")])
    [doc] = make_transformer(fake).transform_documents([Document("Call Jamie Derran now")])
    assert doc.page_content == "Call <FULL_NAME> now"


def test_redacted_text_that_is_not_the_input_fails_closed(fake: FakeFastino) -> None:
    fake.override = scripted([], redacted_text="Something <FULL_NAME> else")
    with pytest.raises(PIIDetectionError, match="redacted_text"):
        make_transformer(fake).transform_documents([Document("Call Jamie Derran now")])


# -- 5. chunks sized for the model -------------------------------------------------


def test_token_dense_text_is_sent_in_chunks_under_the_word_bound(fake: FakeFastino) -> None:
    lines = [json.dumps({"id": i, "n": [i, i + 1], "ok": True}) for i in range(60)]
    text = "\n".join(lines) + "\nJamie Derran"
    assert len(text) > 1500  # one character-bounded chunk would hold ~700 words
    [doc] = make_transformer(fake).transform_documents([Document(text)])
    assert all(count_words(t) <= 300 for t in fake.texts())
    assert len(fake.texts()) > 1
    assert doc.page_content.endswith("<FULL_NAME>")


def test_tool_sends_exactly_the_chunks_the_transformer_sends(fake: FakeFastino) -> None:
    text = ("The parcel was late again. " * 80) + "Jamie Derran called. " + ("Ok. " * 80)
    make_transformer(fake).transform_documents([Document(text)])
    sent_by_transformer = fake.texts()
    fake.requests.clear()
    tool = FastinoPIITool(client=fake.make_client())
    tool.invoke({"text": text})
    # The same chunks (batches may reach the server from several threads in any order).
    assert sorted(fake.texts()) == sorted(sent_by_transformer)
    assert len(sent_by_transformer) > 1


def test_no_chunk_starts_inside_a_word_after_a_short_chunk() -> None:
    text = "ab cdefghij Jamie Derran"  # "ab" is a short chunk: the next used to start at "b"
    chunks = chunk_text(text, 10, 4)
    for chunk in chunks:
        assert chunk.offset == 0 or text[chunk.offset - 1].isspace()


# -- 6. metadata redacted by default -----------------------------------------------


def test_metadata_strings_are_redacted_and_reported_apart(fake: FakeFastino) -> None:
    doc = Document(
        "Refund requested.",
        id="t1",
        metadata={
            "subject": "Refund for Jamie Derran",
            "from": "jamie@example.com",
            "cc": ["anna.rossi@example.com", 3],
            "source": "mail/jamie@example.com.eml",
            "start_page": 2,
        },
    )
    [out] = make_transformer(fake).transform_documents([doc])
    meta = out.metadata
    assert meta["subject"] == "Refund for <FULL_NAME>"
    assert meta["from"] == "<EMAIL>"
    assert meta["cc"] == ["<EMAIL>", 3]
    assert meta["source"] == "mail/jamie@example.com.eml"  # a kept key, by default
    assert meta["start_page"] == 2
    assert out.metadata["pii_entities"] == []
    assert set(meta["pii_metadata_entities"]) == {"subject", "from", "cc.0"}
    assert meta["pii_metadata_entities"]["from"][0]["label"] == "email"


def test_keep_metadata_keys_and_redact_metadata_settings(fake: FakeFastino) -> None:
    doc = Document("Hi", metadata={"author": "Jamie Derran", "note": "Anna Rossi"})
    [kept] = make_transformer(fake, keep_metadata_keys=("author",)).transform_documents([doc])
    assert kept.metadata["author"] == "Jamie Derran"
    assert kept.metadata["note"] == "<FULL_NAME>"
    [off] = make_transformer(fake, redact_metadata=False).transform_documents([doc])
    assert off.metadata["note"] == "Anna Rossi"


def test_value_found_in_the_text_is_also_replaced_in_metadata(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        200,
        json=[
            answer(item["text"], [entity(0, 3, "Ann")] if item["text"].startswith("Ann") else [])
            for item in body["input"]
        ],
    )
    doc = Document("Ann paid.", metadata={"tag": "vip ann"})
    [out] = make_transformer(fake).transform_documents([doc])
    assert out.metadata["tag"] == "vip <FULL_NAME>"


# -- 7. whole documents before splitting -------------------------------------------


def test_input_that_looks_split_warns_once(fake: FakeFastino) -> None:
    pii = make_transformer(fake)
    chunks = [Document("Jamie Derran", metadata={"start_index": 0})]
    with pytest.warns(UserWarning, match="Redact whole documents first"):
        pii.transform_documents(chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pii.transform_documents(chunks)


# -- 8. nothing raw at rest or in transit ------------------------------------------


def test_save_mapping_creates_an_owner_only_file_atomically(
    fake: FakeFastino, tmp_path: Any
) -> None:
    pii = make_transformer(fake, strategy="pseudonymize")
    pii.transform_documents([Document("Jamie Derran paid.")])
    path = tmp_path / "mapping.json"
    path.write_text("old")
    path.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        pii.save_mapping(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "Jamie Derran" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["mapping.json"]  # no temporary left


@pytest.mark.parametrize("quote", [lambda t: f"cannot parse {t!r}", lambda t: "bad name Ann Lee"])
def test_server_message_that_echoes_the_input_never_reaches_the_error(
    fake: FakeFastino, quote: Any
) -> None:
    def echoing(_i: int, body: dict[str, Any]) -> httpx.Response:
        text = body["input"][0]["text"]
        return httpx.Response(
            200, json=[{"input": text, "status": "error", "message": quote(text)}]
        )

    fake.override = echoing
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents(
            [Document("Ann Lee paid for the order.", id="a")]
        )
    for err in [info.value, *info.value.causes.values()]:
        assert "Ann Lee" not in str(err)
        assert "Ann Lee" not in repr(vars(err))


def test_rejected_request_whose_body_echoes_the_input_is_withheld(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        400, json={"message": f"bad input: {body['input'][0]['text']}"}
    )
    with pytest.raises(BadRequestError) as info:  # every document failed the same way
        make_transformer(fake, max_retries=0).transform_documents(
            [Document("Jamie Derran paid.", id="a"), Document("Anna Rossi", id="b")]
        )
    assert info.value.status_code == 400
    assert "withheld" in str(info.value)
    assert "Jamie" not in repr(vars(info.value))
    assert "Anna" not in repr(vars(info.value))


def test_a_body_that_is_not_json_is_not_kept_in_the_error_chain(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(200, text="oops " + body["input"][0]["text"])
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents([Document("Jamie Derran paid.", id="a")])
    cause = info.value.causes["a"]
    seen: list[BaseException] = []
    while cause is not None and cause not in seen:
        seen.append(cause)
        assert "Jamie" not in repr(vars(cause))
        assert "Jamie" not in str(cause.args)
        cause = cause.__cause__ or cause.__context__


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.outputs: list[str] = []

    def on_tool_end(self, output: Any, **kwargs: Any) -> None:
        self.outputs.append(repr(output))

    def on_tool_error(self, error: BaseException, **kwargs: Any) -> None:
        self.outputs.append(repr(error))


def test_tool_output_artifact_and_callbacks_carry_no_raw_values(fake: FakeFastino) -> None:
    recorder = Recorder()
    tool = FastinoPIITool(client=fake.make_client())
    call = {"type": "tool_call", "id": "1", "name": "fastino_pii"}
    msg = tool.invoke(
        {**call, "args": {"text": "Mail Jamie Derran at jamie@example.com"}},
        config={"callbacks": [recorder]},
    )
    assert "Jamie" not in repr(msg.content) + repr(msg.artifact)
    assert recorder.outputs
    assert all("Jamie" not in out and "jamie@" not in out for out in recorder.outputs)
    with_values = FastinoPIITool(client=fake.make_client(), include_values=True)
    shown = with_values.invoke({**call, "args": {"text": "Mail Jamie Derran"}})
    assert shown.artifact[0]["text"] == "Jamie Derran"


# -- 9. errors that say what happened ----------------------------------------------


@pytest.mark.parametrize("on_error", ["raise", "drop"])
def test_wrong_key_raises_the_authentication_error_with_its_fix(
    fake: FakeFastino, on_error: str
) -> None:
    pii = FastinoPIITransformer(client=fake.make_client(api_key="wrong"), on_error=on_error)
    docs = [Document("Jamie Derran", id="a"), Document("  ", id="blank"), Document("Ann", id="b")]
    with pytest.raises(AuthenticationError) as info:
        pii.transform_documents(docs)
    text = str(info.value)
    assert "FASTINO_API_KEY" in text
    assert "60 s" in text
    assert "Retry them" not in text
    assert "wrong" not in text


def test_missing_key_raises_the_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FASTINO_API_KEY", raising=False)
    pii = FastinoPIITransformer(base_url="https://fastino.test")
    with pytest.raises(ConfigurationError, match="FASTINO_API_KEY"):
        pii.transform_documents([Document("Jamie Derran")])


def test_detection_error_names_its_first_cause_and_what_the_server_said(
    fake: FakeFastino,
) -> None:
    fake.override = failing_when("Derran", 503, "overloaded")
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake, max_retries=0).transform_documents(
            [Document("Jamie Derran", id="a"), Document("Nothing here", id="b")]
        )
    text = str(info.value)
    assert "first cause (a): ServerError" in text
    assert "HTTP 503" in text
    assert "overloaded" in text
    assert "Retry them" in text  # a transient cause: retrying is the right advice


@sync_and_async
async def test_redact_returns_the_redacted_text_and_fails_closed(
    fake: FakeFastino, mode: str
) -> None:
    pii = make_transformer(fake, on_error="drop")
    assert await run_redact(mode, pii, "Mail Jamie Derran") == "Mail <FULL_NAME>"
    fake.override = lambda _i, _b: httpx.Response(500, json={"message": "down"})
    with pytest.raises(PIIDetectionError):
        await run_redact(
            mode, make_transformer(fake, on_error="drop", max_retries=0), "Mail Jamie Derran"
        )
