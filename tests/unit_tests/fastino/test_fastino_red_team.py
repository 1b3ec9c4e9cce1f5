"""Red-team of the Fastino path after issue 9: routes that still let personal data the
(scripted) model found leave the transformer or the tool, each reproduced against a
scripted ``/run`` answer (``httpx.MockTransport``) and now closed; and attacks that did
not leak, kept where they protect a promise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.documents import Document

from langchain_mlstudio import MLStudioError, PIIDetectionError
from langchain_mlstudio.fastino import FastinoPIITool
from tests.support.fastino import FakeFastino, answer, entity, make_transformer, replying

# -- redacted_text whose placeholders are not ASCII upper case -----------------------


def removing_the_name(placeholder: str) -> Any:
    return replying(
        lambda texts: [
            answer(t, [], redacted_text=t.replace("Jamie Derran", placeholder)) for t in texts
        ]
    )


@pytest.mark.parametrize(
    ("placeholder", "token"),
    [
        ("<PRÉNOM ET NOM>", "<PR_NOM_ET_NOM>"),
        ("<DATE OF BIRTH (DOB)>", "<DATE_OF_BIRTH_DOB>"),
        ("<E-MAIL/PHONE>", "<E_MAIL_PHONE>"),
    ],
)
def test_redacted_text_placeholder_of_a_free_text_label_is_redacted(
    fake: FakeFastino, placeholder: str, token: str
) -> None:
    # Labels are free text (zero-shot): the server writes a French or punctuated
    # label upper case as it is. With `entities` empty, that placeholder is the
    # only sign of the name, and it used to be ignored (the name came back).
    fake.override = removing_the_name(placeholder)
    [doc] = make_transformer(fake).transform_documents([Document("Appelez Jamie Derran demain")])
    assert doc.page_content == f"Appelez {token} demain"


@pytest.mark.parametrize("placeholder", ["<full_name>", "[FULL_NAME]", "***"])
def test_redacted_text_that_differs_from_the_input_without_placeholders_fails_closed(
    fake: FakeFastino, placeholder: str
) -> None:
    fake.override = removing_the_name(placeholder)
    pii = make_transformer(fake, on_error="drop")
    assert pii.transform_documents([Document("Appelez Jamie Derran demain")]) == []
    with pytest.raises(PIIDetectionError, match="redacted_text"):
        make_transformer(fake).transform_documents([Document("Appelez Jamie Derran demain")])


def test_redacted_text_equal_to_the_input_is_a_clean_answer(fake: FakeFastino) -> None:
    fake.override = replying(lambda texts: [answer(t, [], redacted_text=t) for t in texts])
    [doc] = make_transformer(fake).transform_documents([Document("Nothing <div> to see")])
    assert doc.page_content == "Nothing <div> to see"


def test_tool_redacts_a_free_text_label_placeholder_of_redacted_text(fake: FakeFastino) -> None:
    fake.override = removing_the_name("<PRÉNOM ET NOM>")
    tool = FastinoPIITool(client=fake.make_client())
    call = {"type": "tool_call", "id": "1", "name": tool.name}
    msg = tool.invoke({**call, "args": {"text": "Appelez Jamie Derran demain"}})
    assert msg.content.startswith("Appelez <PR_NOM_ET_NOM> demain")
    assert "Jamie" not in repr(msg)


# -- several answers for one text that disagree --------------------------------------

NAMED = "Jamie Derran paid"


def found(text: str) -> dict[str, Any]:
    return answer(text, [entity(0, 12, "Jamie Derran")], redacted_text="<FULL_NAME> paid")


def clean(text: str) -> dict[str, Any]:
    return answer(text, [], redacted_text=text)


def test_identical_documents_whose_answers_disagree_fail_closed(fake: FakeFastino) -> None:
    # Identical texts are interchangeable, so each took "its" answer in order:
    # the second document came back with the name the first answer found.
    fake.override = replying(lambda texts: [found(texts[0]), clean(texts[1])])
    docs = [Document(NAMED, id="1"), Document(NAMED, id="2")]
    pii = make_transformer(fake, batch_size=2, on_error="drop", redact_metadata=False)
    assert pii.transform_documents(docs) == []
    with pytest.raises(PIIDetectionError, match="disagree"):
        make_transformer(fake, batch_size=2, redact_metadata=False).transform_documents(docs)


def test_identical_documents_answered_differently_in_separate_requests_fail_closed(
    fake: FakeFastino,
) -> None:
    def handler(i: int, body: dict[str, Any]) -> httpx.Response:
        [text] = [item["text"] for item in body["input"]]
        return httpx.Response(200, json=[found(text) if i == 0 else clean(text)])

    fake.override = handler
    docs = [Document(NAMED, id="1"), Document(NAMED, id="2")]
    pii = make_transformer(fake, on_error="drop", redact_metadata=False)
    assert "Jamie" not in repr(pii.transform_documents(docs))


def test_surplus_answer_that_contradicts_the_one_used_fails_its_document_closed(
    fake: FakeFastino,
) -> None:
    # Two answers echo the first text (one finds the name); none echoes the second.
    fake.override = replying(lambda texts: [clean(texts[0]), found(texts[0])])
    docs = [Document(NAMED, id="1"), Document("Other text", id="2")]
    pii = make_transformer(fake, batch_size=2, on_error="drop", redact_metadata=False)
    assert pii.transform_documents(docs) == []


def test_duplicated_answers_that_agree_are_used(fake: FakeFastino) -> None:
    fake.override = replying(lambda texts: [found(texts[0]), {**found(texts[1]), "latency_ms": 3}])
    docs = [Document(NAMED, id="1"), Document(NAMED, id="2")]
    out = make_transformer(fake, batch_size=2, redact_metadata=False).transform_documents(docs)
    assert [d.page_content for d in out] == ["<FULL_NAME> paid", "<FULL_NAME> paid"]


# -- metadata keys and numbers -------------------------------------------------------


def test_metadata_keys_and_numbers_holding_a_found_value_are_redacted(fake: FakeFastino) -> None:
    # Dict keys were never looked at, and a value's path (its keys) named the
    # entries of pii_metadata_entities: an attendee list keyed by e-mail address
    # carried the address the model found into the store twice.
    text = "Jamie Derran (jamie@example.com, 5551234567) accepted."
    meta = {
        "rsvp": {"jamie@example.com": "Jamie Derran", "anna@example.com": "Anna Rossi"},
        "jamie@example.com": "yes",
        "phone": 5551234567,
        "pages": 3,
        "source": "crm",
    }
    [doc] = make_transformer(fake).transform_documents([Document(text, metadata=meta)])
    for value in ("jamie", "anna", "5551234567", "Derran", "Rossi"):
        assert value not in repr(doc).lower()
    assert doc.metadata["rsvp"] == {"<EMAIL>": "<FULL_NAME>", "<EMAIL>#2": "<FULL_NAME>"}
    assert doc.metadata["<EMAIL>"] == "yes"
    assert doc.metadata["phone"] == "<PHONE_NUMBER>"
    assert doc.metadata["pages"] == 3  # numbers with nothing found keep their type
    assert doc.metadata["source"] == "crm"
    assert set(doc.metadata["pii_metadata_entities"]) == {
        "rsvp.<EMAIL>",
        "rsvp.<EMAIL>#2",
        "rsvp.<EMAIL>(key)",
        "rsvp.<EMAIL>#2(key)",
        "<EMAIL>(key)",
        "phone",
    }


# -- chunk overlap of token-dense text -----------------------------------------------


def test_a_value_cut_by_a_chunk_end_in_dense_json_appears_whole_in_the_next_chunk(
    fake: FakeFastino,
) -> None:
    # JSON lines without spaces: each run up to a space is ~100 GLiNER words, more
    # than the 50-word overlap, so neighbouring chunks shared nothing and a name
    # cut by a chunk's end ("...":"Jamie | Derran"}) was never sent whole.
    record = ",".join(f'"k{i}":{i}' for i in range(15))
    lines = ["{" + record + ',"name":"nobody here"}' for _ in range(12)]
    lines[5] = "{" + record + ',"name":"Jamie Derran"}'
    text = "\n".join(lines)
    [doc] = make_transformer(fake).transform_documents([Document(text)])
    assert any("Jamie Derran" in sent for sent in fake.texts())
    assert "Jamie" not in doc.page_content
    assert "Derran" not in doc.page_content
    assert doc.page_content.count("<FULL_NAME>") == 1


# -- server messages quoting a short value -------------------------------------------

SHORT = "Call Li Wu or bo at 5551 now"


@pytest.mark.parametrize(
    "quoted", ["cannot parse 'Li Wu'", "bad token: Wu", 'unknown "bo"', "5551?"]
)
def test_server_message_quoting_a_short_value_never_reaches_the_error(
    fake: FakeFastino, quoted: str
) -> None:
    # Echo detection needed a shared run of 6-8 characters: a short name, a
    # lower-case nickname or a number quoted by a failed input's message stayed.
    fake.override = lambda _i, body: httpx.Response(
        200,
        json=[{"input": i["text"], "status": "error", "message": quoted} for i in body["input"]],
    )
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents([Document(SHORT)])
    err = info.value
    for value in ("Li Wu", "Wu", '"bo"', "5551"):
        assert value not in str(err)
        assert value not in repr(err.causes)


def test_rejected_request_quoting_a_short_value_is_withheld(fake: FakeFastino) -> None:
    fake.override = lambda _i, _b: httpx.Response(422, json={"message": "bad name Li Wu"})
    with pytest.raises(MLStudioError) as info:  # whichever typed error: no name in it
        make_transformer(fake).transform_documents([Document(SHORT)])
    assert "Wu" not in str(info.value)


def test_server_message_sharing_only_common_words_is_kept(fake: FakeFastino) -> None:
    fake.override = lambda _i, body: httpx.Response(
        200,
        json=[
            {"input": i["text"], "status": "error", "message": "model crashed, call again"}
            for i in body["input"]
        ],
    )
    with pytest.raises(PIIDetectionError, match="model crashed, call again"):
        make_transformer(fake).transform_documents([Document(SHORT)])


# -- placeholders planted where the transformer does not redact ----------------------


@pytest.mark.parametrize(
    "settings", [{}, {"redact_metadata": False}], ids=["kept-key", "metadata-not-redacted"]
)
def test_placeholder_planted_in_kept_metadata_never_enters_a_restore_scope(
    fake: FakeFastino, settings: dict[str, Any]
) -> None:
    # An attacker who saw one redacted document knows the namespace; a file they
    # upload named after the next token lands in `source` (kept as is), and
    # restore(scope=docs) counted every string of the documents as "seen".
    pii = make_transformer(fake, strategy="pseudonymize", **settings)
    [victim] = pii.transform_documents([Document("Jamie Derran paid.")])
    token = pii.pseudonymizer.token("full_name", "Jamie Derran")
    planted = Document("Nothing here.", metadata={"source": token, "title": token})
    [doc] = pii.transform_documents([planted])
    answer_text = f"The file is {token}."
    assert "Jamie" not in pii.restore(answer_text, scope=[doc])
    assert pii.restore(victim.page_content, scope=[victim]) == "Jamie Derran paid."


def test_placeholder_hidden_by_zero_width_characters_is_neutralised(fake: FakeFastino) -> None:
    # "<FULL\u200b_NAME_1_...>" was no placeholder on the way in (so it was kept
    # as is) but becomes the real token as soon as anything drops the invisible
    # character, e.g. an LLM quoting it.
    pii = make_transformer(fake, strategy="pseudonymize")
    pii.transform_documents([Document("Jamie Derran paid.")])
    token = pii.pseudonymizer.token("full_name", "Jamie Derran")
    hidden = token[:5] + "\u200b" + token[5:-2] + "\u2060" + token[-2:]
    [doc] = pii.transform_documents([Document(f"Ask {hidden} about it.")])
    assert "<" not in doc.page_content
    quoted = doc.page_content.replace("\u200b", "").replace("\u2060", "")
    assert "Jamie" not in pii.restore(quoted)
    # A token an LLM wrote with an invisible character inside is restored whole.
    assert pii.restore(f"Thank {hidden}!", scope=[token]) == "Thank Jamie Derran!"


def test_status_quoting_the_input_never_reaches_the_error(fake: FakeFastino) -> None:
    # A free-form `status` was put into the error's text and `input_status` as is.
    fake.override = lambda _i, body: httpx.Response(
        200, json=[{"input": i["text"], "status": "failed on 'Li Wu'"} for i in body["input"]]
    )
    with pytest.raises(PIIDetectionError) as info:
        make_transformer(fake).transform_documents([Document(SHORT)])
    assert "Wu" not in str(info.value)
    assert "Wu" not in repr(info.value.causes)
    assert all("Wu" not in str(vars(c)) for c in info.value.causes.values())


def test_metadata_sets_of_strings_are_redacted(fake: FakeFastino) -> None:
    meta = {"tags": {"jamie@example.com", "vip"}, "cc": frozenset(["anna@example.com"])}
    [doc] = make_transformer(fake).transform_documents(
        [Document("Mail jamie@example.com", metadata=meta)]
    )
    assert doc.metadata["tags"] == {"<EMAIL>", "vip"}
    assert doc.metadata["cc"] == frozenset(["<EMAIL>"])


async def test_async_path_fails_disagreeing_answers_and_reads_free_text_placeholders_too(
    fake: FakeFastino,
) -> None:
    def handler(i: int, body: dict[str, Any]) -> httpx.Response:
        [text] = [item["text"] for item in body["input"]]
        if text == NAMED:
            return httpx.Response(200, json=[found(text) if i == 0 else clean(text)])
        named = text.replace("Jamie Derran", "<PRÉNOM ET NOM>")
        return httpx.Response(200, json=[answer(text, [], redacted_text=named)])

    fake.override = handler
    pii = make_transformer(fake, on_error="drop", redact_metadata=False, max_concurrency=1)
    docs = [Document(NAMED), Document(NAMED), Document("Appelez Jamie Derran demain")]
    out = await pii.atransform_documents(docs)
    assert [d.page_content for d in out] == ["Appelez <PR_NOM_ET_NOM> demain"]


# -- attacks that did not leak, kept where they protect a promise --------------------


@pytest.mark.parametrize(
    "echo",
    [
        lambda t: t + " ",
        lambda t: t.replace(" ", "  "),
        lambda t: t.replace("é", "e\u0301"),
        lambda t: t.replace("Zoé", "ZOÉ"),
    ],
    ids=["trailing-space", "double-space", "nfd", "case"],
)
def test_answer_whose_echo_differs_only_by_whitespace_or_normalisation_fails_closed(
    fake: FakeFastino, echo: Any
) -> None:
    text = "Zoé Lang paid."
    fake.override = replying(lambda texts: [answer(echo(t), [], redacted_text=t) for t in texts])
    assert make_transformer(fake, on_error="drop").transform_documents([Document(text)]) == []


@pytest.mark.parametrize(
    "bad",
    [
        entity(-1, 8, "Zoé Lang"),
        entity(5, 99, "Zoé Lang"),
        entity(1, 9, "Zoé Lang"),
        entity(0, 8, "zoé lang"),
    ],
    ids=["negative", "past-the-end", "off-by-one", "other-casing"],
)
def test_entity_whose_offsets_or_text_do_not_fit_never_passes_the_value(
    fake: FakeFastino, bad: dict[str, Any]
) -> None:
    # Each either fails closed or, where another offset unit explains it (a byte
    # offset one past "Z" is "oé Lang" inside the value), redacts the whole value.
    fake.override = replying(lambda texts: [answer(t, [bad]) for t in texts])
    out = make_transformer(fake, on_error="drop").transform_documents([Document("Zoé Lang paid.")])
    assert [d.page_content for d in out] in ([], ["<FULL_NAME> paid."])
