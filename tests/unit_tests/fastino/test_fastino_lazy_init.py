"""The lazily built transport (and client) exist once per instance, whatever the threads do."""

from __future__ import annotations

import contextlib
import copy
import pickle
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

import langchain_mlstudio._core._locks as locks_module
from langchain_mlstudio.fastino import FastinoClient, FastinoPIITool, FastinoPIITransformer


def _interleave(
    monkeypatch: pytest.MonkeyPatch, module: types.ModuleType, owner: type, build: str
) -> None:
    """Make two threads meet inside any lazy lock creation and inside the build.

    Code that creates its guard lock on first use lets both threads create one
    each and then both build; code with a lock from construction lets only one
    thread build (the other waits on the lock, so the meeting times out).
    """
    real_lock = threading.Lock
    meet_lock = threading.Barrier(2, timeout=0.2)
    meet_build = threading.Barrier(2, timeout=0.2)

    def lock() -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet_lock.wait()
        return real_lock()

    shim = types.SimpleNamespace(**{**vars(threading), "Lock": lock})
    monkeypatch.setattr(module, "threading", shim)
    original: Callable[..., Any] = getattr(owner, build)

    def slow_build(self: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet_build.wait()
        return original(self)

    monkeypatch.setattr(owner, build, slow_build)


def _from_two_threads(get: Callable[[], object]) -> set[int]:
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(id(get()))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return set(seen)


def test_two_threads_share_one_transport_and_rate_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FastinoClient(api_key="k", base_url="https://fastino.test")
    _interleave(monkeypatch, locks_module, FastinoClient, "_build_transport")
    gates = _from_two_threads(lambda: client.transport.gate)
    assert len(gates) == 1


def test_two_threads_share_one_transformer_client(monkeypatch: pytest.MonkeyPatch) -> None:
    pii = FastinoPIITransformer(api_key="k", base_url="https://fastino.test")
    _interleave(monkeypatch, locks_module, FastinoPIITransformer, "_build_client")
    clients = _from_two_threads(lambda: pii.fastino_client)
    assert len(clients) == 1


def test_unpickled_client_still_builds_one_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FastinoClient(api_key="k", base_url="https://fastino.test")
    _ = client.transport
    copy_ = pickle.loads(pickle.dumps(client))
    _interleave(monkeypatch, locks_module, FastinoClient, "_build_transport")
    gates = _from_two_threads(lambda: copy_.transport.gate)
    assert len(gates) == 1
    assert copy_.transport is not client.transport


@pytest.mark.parametrize(
    "make",
    [
        lambda: FastinoClient(api_key="k", base_url="https://fastino.test"),
        lambda: FastinoPIITransformer(api_key="k", base_url="https://fastino.test"),
        lambda: FastinoPIITool(api_key="k", base_url="https://fastino.test"),
    ],
)
def test_copies_and_pickles_work_before_and_after_use(make: Callable[[], Any]) -> None:
    obj = make()
    for _ in range(2):
        pickle.loads(pickle.dumps(obj))
        copy.deepcopy(obj)
        copy.copy(obj)
        _ = obj.transport if isinstance(obj, FastinoClient) else obj.fastino_client
