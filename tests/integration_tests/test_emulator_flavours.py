"""One emulator serves both generate-job flavours: ModelStudio at the root, IONOS under /ionos."""

from __future__ import annotations

import httpx

from langchain_mlstudio import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.emulator import IONOS_PREFIX, Emulator

KEY, ORG, MODEL = "k", "org", "m"
BODY = {"model_id": MODEL, "messages": [[{"role": "user", "content": "Hi"}]]}
AUTH = {"Authorization": f"Bearer {KEY}"}


def finished_job(base_url: str) -> dict[str, object]:
    url = f"{base_url}/api/v1/organizations/{ORG}/generate"
    created = httpx.post(url, headers=AUTH, json=BODY)
    assert created.status_code == 200
    body: dict[str, object] = httpx.get(f"{url}/{created.json()['job_id']}", headers=AUTH).json()
    return body


def test_both_flavours_answer_in_their_own_dialect_on_one_port() -> None:
    with Emulator(api_key=KEY, organization_id=ORG, model=MODEL, flavour="both") as emu:
        assert emu.ionos_base_url == emu.base_url + IONOS_PREFIX
        root, ionos = finished_job(emu.base_url), finished_job(emu.ionos_base_url)
        assert emu.ionos is not None
        assert (emu.generate.created_jobs, emu.ionos.created_jobs) == (1, 1)
    assert root["job_status"] == "completed"
    assert ionos["job_status"] == "FINISHED"
    assert ionos["results"] == [{"task_index": 0, "status": "completed", "result": " Echo: Hi"}]


def test_each_flavour_keeps_its_own_parallel_job_limit() -> None:
    with Emulator(api_key=KEY, flavour="both", job_duration=5) as emu:
        assert emu.ionos is not None
        assert emu.ionos.max_parallel_jobs == 3
        assert emu.generate.max_parallel_jobs is None


def test_the_chat_models_work_against_their_flavour_on_a_base_url_with_a_path() -> None:
    with Emulator(api_key=KEY, organization_id=ORG, model=MODEL, flavour="both") as emu:
        common = {"model": MODEL, "api_key": KEY, "organization_id": ORG}
        ionos = ChatIonosModelStudio(base_url=emu.ionos_base_url + "/", **common)
        studio = ChatModelStudio(base_url=emu.base_url, **common)
        assert ionos.invoke("Hello").content == "Echo: Hello"
        assert studio.invoke("Hello").content == "Echo: Hello"
        assert emu.ionos is not None
        assert emu.ionos.created_jobs == 1
        assert emu.generate.created_jobs == 1


def test_a_path_outside_every_mount_is_a_404() -> None:
    with Emulator(api_key=KEY, organization_id=ORG, flavour="both") as emu:
        response = httpx.post(f"{emu.base_url}/ionos/run", headers={"x-api-key": KEY}, json={})
    assert response.status_code == 404
