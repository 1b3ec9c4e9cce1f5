"""The emulator's one style: route tables dispatched, and API errors rendered, once.

These run the server's dispatch without a socket: a request goes in, the
matching service's response comes out.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from langchain_mlstudio.emulator import EmulatedRequest, EmulatedResponse, Emulator
from langchain_mlstudio.emulator._server import (
    EmulatedAPIError,
    EmulatedService,
    EmulatorServer,
    Route,
)

KEY = "k"
BASIC = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()


def request(method: str, path: str, body: Any = None, **headers: str) -> EmulatedRequest:
    raw = b"" if body is None else json.dumps(body).encode()
    query: dict[str, list[str]] = {}
    if "?" in path:
        path, _, pairs = path.partition("?")
        for pair in pairs.split("&"):
            name, _, value = pair.partition("=")
            query.setdefault(name, []).append(value)
    return EmulatedRequest(
        method=method,
        path=path,
        query=query,
        headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
        body=raw,
        json=body,
    )


class Echo(EmulatedService):
    """A service whose one route echoes its path parameters or raises."""

    name = "echo"

    def routes(self) -> list[Route]:
        return [Route("GET", "/things/{thing_id}/parts/{part}", self.get_part)]

    def get_part(self, request: EmulatedRequest, thing_id: str, part: str) -> EmulatedResponse:
        if part == "missing":
            raise EmulatedAPIError(404, f"No part {part}", headers={"X-Why": "gone"})
        return EmulatedResponse(200, {"thing_id": thing_id, "part": part})


def test_a_route_passes_its_path_parameters_by_name_percent_decoded() -> None:
    service, response = EmulatorServer([Echo()]).dispatch(request("GET", "/things/a%20b/parts/c"))
    assert service is not None
    assert service.name == "echo"
    assert (response.status, response.body) == (200, {"thing_id": "a b", "part": "c"})


def test_a_prefix_mounts_every_route_under_it() -> None:
    echo = Echo()
    echo.prefix = "/v2"
    server = EmulatorServer([echo])
    assert server.dispatch(request("GET", "/v2/things/1/parts/2"))[1].status == 200
    assert server.dispatch(request("GET", "/things/1/parts/2"))[1].status == 404


def test_an_unknown_path_is_404_and_a_known_path_with_another_method_405() -> None:
    server = EmulatorServer([Echo()])
    assert server.dispatch(request("GET", "/nowhere")) == (
        None,
        EmulatedResponse(404, {"error": "No route for /nowhere"}),
    )
    assert server.dispatch(request("POST", "/things/1/parts/2")) == (
        None,
        EmulatedResponse(405, {"error": "Method not allowed"}),
    )


def test_a_raised_api_error_becomes_the_services_error_response() -> None:
    _, response = EmulatorServer([Echo()]).dispatch(request("GET", "/things/1/parts/missing"))
    assert response == EmulatedResponse(404, {"error": "No part missing"}, {"X-Why": "gone"})


def test_each_service_renders_the_one_error_in_its_own_schema() -> None:
    emu = Emulator(api_key=KEY, organization_id="org")
    generate = emu.dispatch(
        request("GET", "/api/v1/organizations/other/generate/j", authorization="Bearer k")
    )
    fastino = emu.dispatch(request("POST", "/run", {"model_id": "fastino-pii"}, x_api_key=KEY))
    asked = request("GET", "/jobs/nope", authorization=BASIC)
    fyretoolkit = emu.dispatch(asked)
    assert (generate[0], fastino[0], fyretoolkit[0]) == (emu.generate, emu.fastino, emu.fyretoolkit)
    assert generate[1].status == 403
    assert generate[1].body == {"detail": "Insufficient permissions for organization 'other'"}
    assert (fastino[1].status, fastino[1].body) == (
        400,
        {"message": "input must be a non-empty array."},
    )
    assert fyretoolkit[1].status == 404
    assert fyretoolkit[1].body == {
        "error": {
            "code": "job_not_found",
            "message": "No batch job with id 'nope'.",
            "request_id": asked.request_id,
            "details": {"job_id": "nope"},
        }
    }


def test_authentication_fails_before_any_handler_runs() -> None:
    emu = Emulator(api_key=KEY)
    body = {"model_id": "m", "messages": [[{"role": "user", "content": "Hi"}]]}
    denied = emu.dispatch(request("POST", "/api/v1/organizations/emulator-org/generate", body))[1]
    assert (denied.status, denied.body) == (401, {"detail": "Invalid or missing API key"})
    assert emu.generate.created_jobs == 0
    assert emu.dispatch(request("POST", "/run", {}))[1].body == {"message": "Unauthorized"}


def test_fyretoolkit_rate_limit_headers_come_with_errors_too_but_not_with_auth_failures() -> None:
    emu = Emulator(api_key=KEY)
    emu.fyretoolkit.rate_limit = 1
    missing = emu.dispatch(request("GET", "/models/nope", authorization=BASIC))[1]
    assert missing.status == 404
    assert missing.headers["X-RateLimit-Remaining"] == "0"
    refused = emu.dispatch(request("GET", "/models", authorization=BASIC))[1]
    assert refused.status == 429
    assert refused.body["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["Retry-After"].isdigit()
    assert emu.fyretoolkit.rate_limited == 1
    unauthenticated = emu.dispatch(request("GET", "/models"))[1]
    assert unauthenticated.status == 401
    assert "X-RateLimit-Limit" not in unauthenticated.headers
    assert unauthenticated.headers["WWW-Authenticate"] == 'Basic realm="FyreToolkit"'
