"""The emulator's HTTP server: route tables, dispatch and error wrapping, once.

Every emulated API is an :class:`EmulatedService` whose :meth:`~EmulatedService.routes`
is a table of :class:`Route` rows, one per endpoint of its API page::

    Route("GET", "/jobs/{job_id}", self.get_job)

A handler takes the request and the path's parameters by name and returns an
:class:`EmulatedResponse`, or raises :class:`EmulatedAPIError`; the server
renders that error in the service's own schema (:meth:`~EmulatedService.error_body`).
Authentication and rate limits are hooks of the service that raise the same
error. All services share one :class:`EmulatorServer` on ``127.0.0.1``, one
port and one API key; the server applies armed faults and logs each request.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from langchain_mlstudio.emulator._faults import Fault, FaultInjector
from langchain_mlstudio.emulator._log import LoggedRequest, RequestLog

__all__ = [
    "EmulatedAPIError",
    "EmulatedRequest",
    "EmulatedResponse",
    "EmulatedService",
    "EmulatorServer",
    "Handler",
    "Route",
]


@dataclass
class EmulatedRequest:
    """One request as a service handler sees it.

    Attributes:
        arrived_at: ``time.monotonic()`` when the server began reading it.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    json_error: bool = False
    request_id: str = field(default_factory=lambda: "req_" + uuid.uuid4().hex[:16])
    arrived_at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class EmulatedResponse:
    """A handler's answer: a JSON-serialisable body (or raw bytes)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


class EmulatedAPIError(Exception):
    """The error every handler and hook raises; the service renders its body.

    Args:
        status: The HTTP status.
        message: What went wrong, as the API says it.
        code: A machine-readable code, for APIs whose errors carry one.
        details: More context, for APIs whose errors carry it.
        headers: Headers of the error response (``Retry-After``...).

    Example:
        >>> error = EmulatedAPIError(404, "No such job", code="job_not_found")
        >>> error.status, error.code, str(error)
        (404, 'job_not_found', 'No such job')
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = dict(details or {})
        self.headers = dict(headers or {})


#: A route's handler: ``handler(request, **path_parameters)``.
Handler = Callable[..., EmulatedResponse]

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One endpoint: a method, a path with ``{name}`` parameters, its handler.

    Example:
        >>> route = Route("GET", "/jobs/{job_id}", lambda request, job_id: EmulatedResponse())
        >>> route.pattern("/ionos").fullmatch("/ionos/jobs/7")["job_id"]
        '7'
    """

    method: str
    path: str
    handler: Handler

    def pattern(self, prefix: str = "") -> re.Pattern[str]:
        """The regular expression of the path mounted under ``prefix`` (``""``: the root)."""
        mount = "/" + prefix.strip("/") if prefix.strip("/") else ""
        pieces = _PARAMETER.split(self.path)  # literal, name, literal, name, ...
        regex = "".join(
            f"(?P<{piece}>[^/]+)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces)
        )
        return re.compile(re.escape(mount) + regex)


class EmulatedService:
    """Base class of an emulated API: a route table and the hooks around it.

    Subclasses set ``name`` and return their :class:`Route` table from
    :meth:`routes`. Before a handler runs, :meth:`authenticate` and then
    :meth:`admit` may raise :class:`EmulatedAPIError`; :meth:`serve` runs the
    handler; any :class:`EmulatedAPIError` becomes a response whose body
    :meth:`error_body` shapes. An instance's ``prefix`` (for example
    ``"/ionos"``) mounts all its routes under that path, so two instances of
    one API can share a server.
    """

    name = "service"
    prefix = ""

    def routes(self) -> list[Route]:
        """The service's route table."""
        return []

    def authenticate(self, request: EmulatedRequest) -> None:
        """Raise :class:`EmulatedAPIError` unless the request's credentials are right."""

    def admit(self, request: EmulatedRequest) -> Mapping[str, str]:
        """Headers every response to this request carries; raise to refuse it (a 429)."""
        return {}

    def serve(
        self, route: Route, request: EmulatedRequest, params: dict[str, str]
    ) -> EmulatedResponse:
        """Run the route's handler (a service may override to hold a lock around it)."""
        return route.handler(request, **params)

    def error_body(self, request: EmulatedRequest, error: EmulatedAPIError) -> Any:
        """The API's error schema for ``error``."""
        return {"error": error.message}

    def not_found(self, request: EmulatedRequest) -> EmulatedResponse:
        """The response for a path that matches no route of any service."""
        return EmulatedResponse(404, {"error": f"No route for {request.path}"})

    def respond(
        self, route: Route, request: EmulatedRequest, params: dict[str, str]
    ) -> EmulatedResponse:
        """Authenticate, admit and serve one request; render a raised error."""
        headers: Mapping[str, str] = {}
        try:
            self.authenticate(request)
            headers = self.admit(request)
            response = self.serve(route, request, params)
        except EmulatedAPIError as error:
            response = EmulatedResponse(
                error.status, self.error_body(request, error), dict(error.headers)
            )
        response.headers.update(headers)
        return response


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every response waits ~40 ms for an ACK
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the console quiet; the request log records everything."""

    def _dispatch(self) -> None:
        self.server.owner.handle(self)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _dispatch


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: EmulatorServer) -> None:
        self.owner = owner
        super().__init__(address, _RequestHandler)


def _read(handler: BaseHTTPRequestHandler) -> EmulatedRequest:
    arrived_at = time.monotonic()
    split = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    request = EmulatedRequest(
        method=handler.command,
        path=split.path,
        query=parse_qs(split.query),
        headers={k.lower(): v for k, v in handler.headers.items()},
        body=body,
        arrived_at=arrived_at,
    )
    if body:
        try:
            request.json = json.loads(body)
        except ValueError:
            request.json_error = True
    return request


def _write(
    handler: BaseHTTPRequestHandler,
    request: EmulatedRequest,
    response: EmulatedResponse,
    *,
    drop_mid: bool,
) -> None:
    payload = response.encode()
    handler.send_response(response.status)
    headers = {"Content-Type": "application/json", "X-Request-Id": request.request_id}
    headers.update(response.headers)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload) + (16 if drop_mid else 0)))
    handler.end_headers()
    handler.wfile.write(payload[: len(payload) // 2] if drop_mid else payload)
    handler.wfile.flush()
    if drop_mid:
        handler.close_connection = True


def _faulty(fault: Fault, response: EmulatedResponse) -> EmulatedResponse:
    """The response a ``non_json`` or ``body`` fault sends instead of ``response``."""
    if fault.kind == "non_json":
        return EmulatedResponse(
            200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
        )
    if fault.kind == "body":
        return EmulatedResponse(200, fault.body, dict(fault.headers))
    return response


class EmulatorServer:
    """A threaded HTTP server on 127.0.0.1 serving a set of services.

    Example:
        >>> server = EmulatorServer([EmulatedService()])
        >>> with server:
        ...     server.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self, services: Iterable[EmulatedService], *, port: int = 0, seed: int = 0
    ) -> None:
        self.services = list(services)
        self.faults = FaultInjector(seed)
        self.log = RequestLog()
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = [
            (service, route, route.pattern(service.prefix))
            for service in self.services
            for route in service.routes()
        ]

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._httpd is None:
            return self._port
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        """Bind to 127.0.0.1 and serve in a background thread."""
        self._httpd = _HTTPServer(("127.0.0.1", self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns at once
            name="mlstudio-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind and serve in the calling thread until interrupted."""
        self._httpd = _HTTPServer(("127.0.0.1", self._port), self)
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling --------------------------------------------------

    def received(self, request: EmulatedRequest) -> None:
        """Called with every request as it arrives, before faults and routing.

        Does nothing; override it to observe arrivals (``request.arrived_at``).
        """

    def dispatch(self, request: EmulatedRequest) -> tuple[EmulatedService | None, EmulatedResponse]:
        """The service whose route matches the request, and its response.

        A path no route matches answers 404 (in the first service's words), a
        known path with another method 405; the service is then ``None``.
        """
        matched_path = False
        for service, route, pattern in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            matched_path = True
            if route.method != request.method:
                continue
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            return service, service.respond(route, request, params)
        if matched_path:
            return None, EmulatedResponse(405, {"error": "Method not allowed"})
        owner = self.services[0] if self.services else EmulatedService()
        return None, owner.not_found(request)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Serve one request, applying any armed fault, and log it."""
        request = _read(handler)
        self.received(request)
        fault = self.faults.take(request.method, request.path)
        service, response = self._answer(request, fault)
        self.log.append(
            LoggedRequest(
                at=time.monotonic(),
                method=request.method,
                path=request.path,
                service=service.name if service else "",
                status=None if response is None else response.status,
                json=request.json,
                fault=None if fault is None else fault.kind,
            )
        )
        if response is None:  # drop before any response
            handler.close_connection = True
            return
        if fault is not None:
            response = _faulty(fault, response)
        _write(handler, request, response, drop_mid=fault is not None and fault.kind == "drop_mid")

    def _answer(
        self, request: EmulatedRequest, fault: Fault | None
    ) -> tuple[EmulatedService | None, EmulatedResponse | None]:
        """The handling service and response (``None``: drop the connection)."""
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            body = fault.body if fault.body is not None else {"error": f"Injected {fault.status}"}
            return None, EmulatedResponse(fault.status, body, dict(fault.headers))
        if fault is not None and fault.kind == "drop":
            return None, None
        try:
            return self.dispatch(request)
        except Exception as exc:  # an emulator bug must not hang the client
            return None, EmulatedResponse(500, {"error": f"Emulator error: {type(exc).__name__}"})
