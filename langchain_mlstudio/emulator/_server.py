"""The emulator's HTTP server: routing, fault injection and the request log.

Each emulated API is a :class:`Service` with its own routes; they all share
one :class:`EmulatorServer` on ``127.0.0.1``, one port and one API key.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "drop", "drop_mid", "delay", "non_json", "body"]


@dataclass
class EmulatedRequest:
    """One request as a service handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    json_error: bool = False
    request_id: str = field(default_factory=lambda: "req_" + uuid.uuid4().hex[:16])

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


Handler = Callable[[EmulatedRequest, re.Match[str]], EmulatedResponse]


@dataclass
class Route:
    """A method and a full-match path pattern mapped to a handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Service:
    """Base class of an emulated API.

    Subclasses set ``name`` and return their routes from :meth:`routes`;
    :meth:`authenticate` returns an error response when a request's
    credentials are wrong, else ``None``. An instance's ``prefix`` (for
    example ``"/ionos"``) mounts all its routes under that path, so two
    instances of one API can share a server.
    """

    name = "service"
    prefix = ""

    def routes(self) -> list[Route]:
        """The service's routes."""
        return []

    def authenticate(self, request: EmulatedRequest) -> EmulatedResponse | None:
        """``None`` when the request may proceed, else the error to send."""
        return None

    def not_found(self, request: EmulatedRequest) -> EmulatedResponse:
        """The response for a path that matches no route of any service."""
        return EmulatedResponse(404, {"error": f"No route for {request.path}"})


@dataclass
class Fault:
    """A misbehaviour the server shows for matching requests.

    Attributes:
        kind: ``status`` answers ``status`` with ``body`` and ``headers``
            instead of handling the request; ``drop`` closes the connection
            before any response; ``delay`` sleeps ``delay`` seconds, then
            handles the request normally; ``drop_mid`` handles the request,
            then closes the connection halfway through the response;
            ``non_json`` handles it, then answers 200 with an HTML body;
            ``body`` handles it, then answers 200 with ``body`` instead.
        times: How many matching requests it affects (``None``: unlimited).
        method: Only requests with this method (``None``: any).
        path: Only paths matching this regular expression (``re.search``).
        probability: The chance a matching request is affected (seeded).
    """

    kind: FaultKind = "status"
    status: int = 503
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    probability: float = 1.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request (ignores its budget)."""
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not re.search(self.path, path))


def mounted(route: Route, prefix: str) -> Route:
    r"""``route`` with every path under ``prefix`` (``""``: unchanged).

    Example:
        >>> route = Route("GET", re.compile(r"/jobs/(?P<id>\w+)"), lambda r, m: EmulatedResponse())
        >>> mounted(route, "/ionos").pattern.fullmatch("/ionos/jobs/7")["id"]
        '7'
    """
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if not prefix:
        return route
    pattern = re.compile(re.escape(prefix) + route.pattern.pattern, route.pattern.flags)
    return Route(route.method, pattern, route.handler)


class FaultInjector:
    """The faults armed on a server; the first matching one with budget wins.

    Example:
        >>> faults = FaultInjector()
        >>> _ = faults.add(Fault(status=429, headers={"Retry-After": "1"}))
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        """Arm a fault and return it (its ``hits`` count what it did)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any, spending its budget."""
        with self._lock:
            for fault in self._faults:
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                if not fault.matches(method, path):
                    continue
                if fault.probability < 1 and self._random.random() >= fault.probability:
                    continue
                fault.hits += 1
                return fault
        return None


@dataclass
class LoggedRequest:
    """One request the server received. Headers (and so keys) are not kept."""

    at: float
    method: str
    path: str
    service: str
    status: int | None
    json: Any
    fault: str | None = None


def peak_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most events inside any half-open window of ``window`` seconds.

    Use it on request arrival times to check a client's rate limit.

    Example:
        >>> peak_in_window([0.0, 0.5, 0.99, 1.0, 1.6])
        3
    """
    ordered = sorted(times)
    best, low = 0, 0
    for high, moment in enumerate(ordered):
        while moment - ordered[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


class RequestLog:
    """Every request the server saw, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record a request."""
        with self._lock:
            self.entries.append(entry)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self.entries.clear()

    def matching(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Requests with this method whose path matches ``path`` (``re.search``)."""
        with self._lock:
            entries = list(self.entries)
        return [
            e
            for e in entries
            if (method is None or e.method == method.upper())
            and (path is None or re.search(path, e.path))
        ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests match."""
        return len(self.matching(method, path))


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


class EmulatorServer:
    """A threaded HTTP server on 127.0.0.1 serving a set of services.

    Example:
        >>> server = EmulatorServer([Service()])
        >>> with server:
        ...     server.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, services: Iterable[Service], *, port: int = 0, seed: int = 0) -> None:
        self.services = list(services)
        self.faults = FaultInjector(seed)
        self.log = RequestLog()
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = [(s, mounted(r, s.prefix)) for s in self.services for r in s.routes()]

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

    def _read(self, handler: _RequestHandler) -> EmulatedRequest:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = EmulatedRequest(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        if body:
            try:
                request.json = json.loads(body)
            except ValueError:
                request.json_error = True
        return request

    def _route(self, request: EmulatedRequest) -> tuple[Service | None, EmulatedResponse]:
        matched_path = False
        for service, route in self._routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            matched_path = True
            if route.method != request.method:
                continue
            denied = service.authenticate(request)
            if denied is not None:
                return service, denied
            return service, route.handler(request, match)
        if matched_path:
            return None, EmulatedResponse(405, {"error": "Method not allowed"})
        owner = self.services[0] if self.services else Service()
        return None, owner.not_found(request)

    def handle(self, handler: _RequestHandler) -> None:
        """Serve one request, applying any armed fault, and log it."""
        request = self._read(handler)
        fault = self.faults.take(request.method, request.path)
        service: Service | None = None
        response: EmulatedResponse | None = None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            response = EmulatedResponse(
                fault.status,
                fault.body if fault.body is not None else {"error": f"Injected {fault.status}"},
                dict(fault.headers),
            )
        elif fault is None or fault.kind != "drop":
            try:
                service, response = self._route(request)
            except Exception as exc:  # an emulator bug must not hang the client
                response = EmulatedResponse(500, {"error": f"Emulator error: {type(exc).__name__}"})
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
        if fault is not None and fault.kind == "non_json":
            response = EmulatedResponse(
                200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}
            )
        elif fault is not None and fault.kind == "body":
            response = EmulatedResponse(200, fault.body, dict(fault.headers))
        self._write(
            handler, request, response, drop_mid=fault is not None and fault.kind == "drop_mid"
        )

    def _write(
        self,
        handler: _RequestHandler,
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
