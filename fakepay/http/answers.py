"""What the public and control APIs share at the HTTP edge: reading a request (its raw path and
its body) and answering it (JSON, and every error as JSON, in one place), which connections are
busy, and clients that leave. The core's errors become responses here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from time import monotonic, time
from typing import TypeVar

from aiohttp import HttpVersion11, StreamReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from ..core.errors import FakePayError, InternalError, InvalidRequest, MethodNotAllowed, PayloadTooLarge
from ..core.jsontext import dumps
from ..core.text import show

__all__ = [
    "BODY_TIMEOUT",
    "JSON",
    "MAX_BODY",
    "ClientLeft",
    "ConnectionActivity",
    "LogLimit",
    "as_error",
    "closing_if_body_awaited",
    "error_response",
    "is_json",
    "json_response",
    "raw_path",
    "read_body",
    "refusal",
]

#: Bodies over this many bytes are answered 413.
MAX_BODY = 1024 * 1024
#: A body must arrive within this many seconds of its headers.
BODY_TIMEOUT = 10.0
JSON = "application/json"
_log = logging.getLogger("fakepay")
_Response = TypeVar("_Response", bound=web.StreamResponse)


class ClientLeft(Exception):
    """The client closed its connection before its request was carried out: it is not, and nobody
    is left to answer."""


def json_response(body: bytes, status: int = 200) -> web.Response:
    """A response with an encoded JSON body and ``Content-Type: application/json``."""
    return web.Response(body=body, status=status, content_type=JSON)


def error_response(exception: Exception, where: str = "") -> web.Response:
    """The JSON error for any exception: the only place an error becomes a response. An
    unexpected exception is a bug in fakepay: logged with its traceback under ``where``."""
    error = as_error(exception)
    if error is None:
        _log.error("bug in fakepay (%s)", where, exc_info=exception)
        error = InternalError(where)
    response = json_response(dumps({"type": error.type, "message": error.message, **error.extra}), error.status)
    if isinstance(error, MethodNotAllowed):
        response.headers[hdrs.ALLOW] = ",".join(error.allowed)
    return response


def refusal(request: web.BaseRequest, exception: Exception, where: str) -> web.Response:
    """The JSON error for a request that is not carried out (``error_response``), closing the
    connection after it if the client still waits to send its body (``closing_if_body_awaited``)."""
    return closing_if_body_awaited(request, error_response(exception, where))


def closing_if_body_awaited(request: web.BaseRequest, response: _Response) -> _Response:
    """``response``, told to close the connection after it if the client still waits for ``100
    Continue`` to send a body that was not read: what it sends next, that body or its next
    request, is then never read as the one or the other."""
    if not request.content.is_eof() and _expects_continue(request):
        response.force_close()
    return response


def _expects_continue(request: web.BaseRequest) -> bool:
    """Whether the client asked to be told (``100 Continue``) before it sends its body."""
    return request.headers.get(hdrs.EXPECT, "").lower() == "100-continue"


def as_error(exception: Exception) -> FakePayError | None:
    """The fakepay error for an exception: itself, or what aiohttp raised about a body that could
    not be read; None for a bug in fakepay."""
    if isinstance(exception, FakePayError):
        return exception
    if isinstance(exception, (web.RequestPayloadError, HttpProcessingError)):
        return InvalidRequest(f"request body could not be read: {' '.join(str(exception).split())}")
    return None


def is_json(content_type: str | None) -> bool:
    if content_type == JSON:
        return True
    return content_type is not None and content_type.partition(";")[0].strip().lower() == JSON


def raw_path(request: web.BaseRequest) -> str:
    """The request target's path as sent (still percent-encoded), also for an absolute-form
    target (``http://host/payments/1``; ``http://host?x=/a`` has the path ``/``)."""
    target = request.raw_path
    if not target.startswith("/"):
        rest = target.partition("://")[2]
        if rest:
            target = "/" + rest.partition("?")[0].partition("#")[0].partition("/")[2]
    return target.partition("?")[0]


async def read_body(request: web.BaseRequest) -> bytes:
    """The request body, at most ``MAX_BODY`` bytes, as sent: a compressed body (any
    ``Content-Encoding`` but ``identity``) is ``InvalidRequest``, as a Spring Boot server sees it."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING)
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        raise InvalidRequest(f"request bodies must not be compressed; got Content-Encoding {show(encoding)}")
    content = request.content
    try:
        # The whole body mostly comes with the headers; else it is waited for, at most BODY_TIMEOUT.
        body = content.read_nowait() if content.is_eof() else await _wait_for_body(request)
    except ConnectionError:  # the connection was lost before or while the body was read
        raise ClientLeft from None
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(MAX_BODY)
    return body


async def _wait_for_body(request: web.BaseRequest) -> bytes:
    """A body still on its way (a client that asked, with ``Expect: 100-continue``, is told to
    send it now): ``PayloadTooLarge`` as soon as it is over ``MAX_BODY``, ``ConnectionError``
    when the client leaves."""
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge(MAX_BODY)
    if _expects_continue(request) and request.version == HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        return await asyncio.wait_for(_read_all(request.content), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        request.protocol.close()  # answer, then close: the rest of the body cannot be trusted
        raise InvalidRequest(f"the request body was not complete after {BODY_TIMEOUT:g} s "
                             "(a client that stopped sending, or a malformed chunk)") from None


async def _read_all(content: StreamReader) -> bytes:
    """Everything until the end of the body, or ``PayloadTooLarge`` as soon as it is over ``MAX_BODY``."""
    chunks = []
    size = 0
    while chunk := await content.readany():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(MAX_BODY)
        chunks.append(chunk)
    return b"".join(chunks)


#: The connections ``ConnectionActivity`` notes before it first forgets the closed ones.
_CONNECTIONS_BOUND = 1024


class LogLimit:
    """At most ``per_second`` log lines of one kind a second, then one saying that more were left out."""

    def __init__(self, more: str, per_second: int = 5) -> None:
        self.more = more
        self.per_second = per_second
        self._second = 0
        self._count = 0

    def line(self, message: str, at: float) -> str | None:
        """What to log for ``message`` at the time ``at``: itself, ``more`` once the second has had
        its lines, then nothing until the next second."""
        second = int(at)
        if second != self._second:
            self._second, self._count = second, 0
        self._count += 1
        if self._count <= self.per_second:
            return message
        return self.more if self._count == self.per_second + 1 else None


class ConnectionActivity:
    """When each connection last finished a request (None while one is being answered), for
    ``Server`` to close connections that hold a socket without sending a request; when the
    connection of a request that waits (an event stream, a request held) closes; and the clients
    that leave before they are answered, each a short line in the log."""

    def __init__(self) -> None:
        self.last: dict[web.RequestHandler, float | None] = {}
        self._closed: dict[object, asyncio.Future[None]] = {}
        #: How many connections ``last`` may hold before those that are closed are forgotten.
        self._bound = _CONNECTIONS_BOUND
        self._left = LogLimit("more clients left this second; they are not logged")

    def left(self, where: str) -> web.Response:
        """Log that the client of ``where`` (a request, a control call) closed its connection
        before it was answered; the response to return, which nobody reads."""
        line = self._left.line(f"{where}: the client closed the connection before it was answered", time())
        if line is not None:
            _log.warning(line)
        return web.Response(status=499)  # nginx's "client closed request", never sent

    def started(self, request: web.BaseRequest) -> None:
        if len(self.last) >= self._bound:
            self._forget_closed()
        self.last[request.protocol] = None

    def _forget_closed(self) -> None:
        """Forget the connections that are closed (for an ``Application`` run by aiohttp, which has
        no ``close_idle`` to do it), and let ``last`` grow to twice those still open."""
        self.last = {connection: since for connection, since in self.last.items() if connection.transport is not None}
        self._bound = max(_CONNECTIONS_BOUND, 2 * len(self.last))

    def finished(self, request: web.BaseRequest) -> None:
        self.last[request.protocol] = monotonic()
        if self._closed:
            self._closed.pop(request.protocol, None)

    def closed(self, request: web.BaseRequest) -> asyncio.Future[None]:
        """A future done once the request's connection is closed (its client left), as the server
        reports it (``lost``: ``runner.Server`` does; in an ``Application``, never)."""
        future = self._closed.get(request.protocol)
        if future is None:
            future = self._closed[request.protocol] = asyncio.get_running_loop().create_future()
            if request.transport is None:  # closed already
                future.set_result(None)
        return future

    def lost(self, connection: object) -> None:
        """``connection`` closed: wake whoever waits on it."""
        future = self._closed.pop(connection, None)
        if future is not None and not future.done():
            future.set_result(None)

    def close_idle(self, connections: list[web.RequestHandler], timeout: float) -> None:
        """Close the connections idle (or still sending headers) for over ``timeout`` seconds since
        they were first seen or last answered."""
        now = monotonic()
        last, self.last = self.last, {}
        for connection in connections:
            since = last.get(connection, now)
            if since is not None and now - since > timeout:
                connection.force_close()
            else:
                self.last[connection] = since
