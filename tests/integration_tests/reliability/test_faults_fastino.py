"""Fault injection on Fastino's ``/run``, through the client and the PII transformer.

Each case sends three texts in one request (``batch_size=3``) while the emulator
misbehaves, and checks: each input gets exactly one outcome (its own result, or
a typed ``MLStudioError`` carrying the server's message), and how many ``/run``
requests carried each input (1 + the retries that were safe). The transformer
then meets the same failure and must fail closed: no document comes back
unredacted, and the error names documents by id, never by text.

Already covered in tests/integration_tests/fastino/test_fastino_emulated.py and
not repeated: a single 429 with ``Retry-After``, a per-input ``"status":
"error"``, 500 / ``drop_mid`` / non-JSON on every request through the
transformer, and the wrong key.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_mlstudio import errors
from langchain_mlstudio.emulator import Emulator, Fault
from langchain_mlstudio.fastino import (
    FastinoClient,
    FastinoInputError,
    FastinoPIITransformer,
    FastinoResult,
)
from tests.integration_tests.reliability.conftest import ACCOUNT
from tests.support.faults import Case, body_fault, fast_retries, settle, status_fault

RUN = r"^/run$"
NAMES = ["Anna Rossi", "Jamie Derran", "Mary Smith"]
TEXTS = [f"Note {i} from {name}" for i, name in enumerate(NAMES)]


def _status(status: int, times: int | None, **headers: str) -> Fault:
    return status_fault(status, RUN, {"message": f"Injected {status} on /run"}, times, **headers)


def _entity_of_wrong_type() -> list[dict[str, Any]]:
    return [
        {"status": "success", "output": {"entities": [{"start": "zero", "label": 3}]}}
        for _ in TEXTS
    ]


CASES: list[Case] = [
    Case(
        "429-burst-longer-than-max-retries",
        (_status(429, None, **{"Retry-After": "0"}),),
        errors.RateLimitError,
        "Injected 429 on /run",
        sends=3,
    ),
    *[
        Case(f"{code}-burst-within-retries", (_status(code, 2),), sends=3)
        for code in (500, 502, 503, 504)
    ],
    Case(
        "502-on-every-request",
        (_status(502, None),),
        errors.ServerError,
        "Injected 502 on /run",
        sends=3,
    ),
    Case("drop-before-response-once", (Fault(kind="drop", path=RUN),), sends=2),
    Case("drop-mid-response-once", (Fault(kind="drop_mid", path=RUN),), sends=2),
    Case(
        "drop-before-response-always",
        (Fault(kind="drop", path=RUN, times=None),),
        errors.APIConnectionError,
        sends=3,
    ),
    Case(
        "slower-than-request-timeout-once",
        (Fault(kind="delay", delay=0.4, path=RUN),),
        sends=2,
        settings={"timeout": 0.15},
    ),
    Case(
        "slower-than-request-timeout-always",
        (Fault(kind="delay", delay=0.3, path=RUN, times=None),),
        errors.APITimeoutError,
        sends=3,
        settings={"timeout": 0.1},
    ),
    Case("non-json-200", (Fault(kind="non_json", path=RUN),), errors.MalformedResponseError),
    Case(
        "200-with-fewer-results-than-inputs",
        (body_fault(RUN, []),),
        errors.MalformedResponseError,
    ),
    Case(
        "200-with-an-object-instead-of-a-list",
        (body_fault(RUN, {"message": "ok"}),),
        errors.MalformedResponseError,
    ),
    Case(
        "200-with-missing-fields",
        (body_fault(RUN, [{} for _ in TEXTS]),),
        errors.MalformedResponseError,
    ),
    Case(
        "200-with-wrongly-typed-entities",
        (Fault(kind="body", path=RUN, body=_entity_of_wrong_type()),),
        errors.MalformedResponseError,
    ),
    Case(
        "200-with-an-unknown-status-value",
        (
            Fault(
                kind="body",
                path=RUN,
                body=[
                    {"status": "queued", "message": "Still warming up", "output": {}} for _ in TEXTS
                ],
            ),
        ),
        FastinoInputError,
        "Still warming up",
    ),
]


def _id(case: Case) -> str:
    return case.id


def client_for(emu: Emulator, case: Case) -> FastinoClient:
    client = FastinoClient(
        api_key=ACCOUNT.api_key,
        base_url=emu.base_url,
        batch_size=3,
        timeout=case.setting("timeout", 5.0),
        requests_per_second=1000,
    )
    fast_retries(client.transport)
    return client


def runs_carrying(emu: Emulator, text: str) -> int:
    return sum(
        1
        for entry in emu.log.matching("POST", RUN)
        if isinstance(entry.json, dict)
        and any(item.get("text") == text for item in entry.json.get("input", []))
    )


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_fault_gives_one_outcome_per_input_and_safe_retries(emu: Emulator, case: Case) -> None:
    case.arm(emu)

    results = client_for(emu, case).run("fastino-pii", TEXTS, return_exceptions=True)

    assert len(results) == len(TEXTS)
    for text, name, outcome in zip(TEXTS, NAMES, results, strict=True):
        if case.error is None:
            assert isinstance(outcome, FastinoResult), outcome
            assert outcome.input == text
            assert [e.text for e in outcome.entities] == [name]
        else:
            assert isinstance(outcome, case.error), outcome
            if case.server_message is not None:
                assert outcome.server_message == case.server_message
    expected = case.sends
    settle(lambda: all(runs_carrying(emu, t) >= expected for t in TEXTS))
    assert [runs_carrying(emu, t) for t in TEXTS] == [expected] * len(TEXTS)


FAILURES = [c for c in CASES if c.error is not None]
# The client is generic (other Fastino models answer other shapes), so a
# success without an ``entities`` list is the PII path's failure, not the client's.
FAILURES.append(
    Case(
        "200-success-without-entities",
        (body_fault(RUN, [{"status": "success", "output": {}} for _ in TEXTS]),),
        errors.MalformedResponseError,
    )
)


@pytest.mark.parametrize("case", FAILURES, ids=_id)
async def test_transformer_fails_closed_naming_ids_not_text(emu: Emulator, case: Case) -> None:
    case.arm(emu)
    pii = FastinoPIITransformer(client=client_for(emu, case), entity_types=None)
    docs = [Document(text, id=f"doc-{i}") for i, text in enumerate(TEXTS)]

    with pytest.raises(errors.PIIDetectionError) as info:
        await pii.atransform_documents(docs)

    assert info.value.document_ids == ["doc-0", "doc-1", "doc-2"]
    assert all(isinstance(c, case.error) for c in info.value.causes.values())
    rendered = str(info.value) + "".join(str(c) for c in info.value.causes.values())
    assert not any(name in rendered for name in NAMES)

    # With on_error="drop" the same failure returns nothing rather than raw text.
    emu.faults.clear()
    case.arm(emu)
    dropping = FastinoPIITransformer(
        client=client_for(emu, case), entity_types=None, on_error="drop"
    )
    assert await dropping.atransform_documents(docs) == []
