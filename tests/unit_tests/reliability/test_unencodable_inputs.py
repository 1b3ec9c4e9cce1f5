"""Text that cannot travel as UTF-8 JSON fails typed, before any request, in every integration."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.documents import Document

from langchain_mlstudio.chat_models import ChatModelStudio
from langchain_mlstudio.errors import InvalidInputError, PIIDetectionError
from langchain_mlstudio.fastino import FastinoClient, FastinoPIITransformer
from langchain_mlstudio.fyretoolkit import FyreToolkitClient

LONE_SURROGATE = "caf\udce9 Anna Rossi"  # bytes decoded with errors="surrogateescape"


class Counting:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(500)


@pytest.fixture
def server() -> Counting:
    return Counting()


def through(server: Counting) -> httpx.Client:
    """An HTTP client whose every request reaches ``server`` (no sockets)."""
    return httpx.Client(transport=httpx.MockTransport(server))


def fastino(server: Counting) -> FastinoClient:
    return FastinoClient(api_key="k", base_url="http://fastino.test", http_client=through(server))


def fyre(server: Counting) -> FyreToolkitClient:
    return FyreToolkitClient(api_key="k", base_url="http://fyre.test", http_client=through(server))


def test_chat_model_rejects_a_lone_surrogate_before_sending(server: Counting) -> None:
    llm = ChatModelStudio(
        model="m",
        api_key="k",
        organization_id="o",
        base_url="http://studio.test",
        http_client=through(server),
    )
    with pytest.raises(InvalidInputError) as info:
        llm.invoke(LONE_SURROGATE)
    assert "Anna" not in str(info.value)
    assert server.requests == 0


def test_fastino_client_rejects_a_lone_surrogate_before_sending(server: Counting) -> None:
    with pytest.raises(InvalidInputError):
        fastino(server).run("fastino-pii", [LONE_SURROGATE])
    assert server.requests == 0


def test_pii_transformer_fails_closed_naming_the_document(server: Counting) -> None:
    pii = FastinoPIITransformer(client=fastino(server))
    with pytest.raises(PIIDetectionError) as info:
        pii.transform_documents([Document(LONE_SURROGATE, id="scan-7")])
    assert info.value.document_ids == ["scan-7"]
    assert isinstance(info.value.causes["scan-7"], InvalidInputError)
    assert server.requests == 0


def test_fyretoolkit_rejects_nan_and_lone_surrogates_before_sending(server: Counting) -> None:
    client = fyre(server)
    with pytest.raises(InvalidInputError, match="UTF-8"):
        client.predict("sentiment-v1", [LONE_SURROGATE])
    with pytest.raises(InvalidInputError, match="NaN"):
        client.predict("sentiment-v1", [{"score": float("nan")}])
    assert server.requests == 0


def test_fyretoolkit_rejects_an_id_with_a_lone_surrogate_before_sending(server: Counting) -> None:
    client = fyre(server)
    with pytest.raises(InvalidInputError, match="model_id"):
        client.predict("sentiment\udcff", ["fine"])
    with pytest.raises(InvalidInputError, match="job_id"):
        client.get_job("job_\ud800")
    assert server.requests == 0
