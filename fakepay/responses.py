"""What the public and control APIs share at the HTTP edge: reading a request (its raw path and
its body) and answering it (JSON, and every error as JSON, in one place), and which
connections are busy. The core's errors become responses here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from time import monotonic

from aiohttp import HttpVersion11, StreamReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import FakePayError, InternalError, InvalidRequest, MethodNotAllowed, PayloadTooLarge
from .validation import show
from .wire import encode_error

__all__ = [
    "BODY_TIMEOUT",
    "MAX_BODY",
    "ConnectionActivity",
    "as_error",
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
_JSON = "application/json"
_log = logging.getLogger("fakepay")


def json_response(body: bytes, status: int = 200) -> web.Response:
    """A response with an encoded JSON body and ``Content-Type: application/json``."""
    return web.Response(body=body, status=status, content_type=_JSON)


def error_response(exception: Exception, where: str = "") -> web.Response:
    """The JSON error for any exception: the only place an error becomes a response. An
    unexpected exception is a bug in fakepay: logged with its traceback under ``where``."""
    error = as_error(exception)
    if error is None:
        _log.error("bug in fakepay (%s)", where, exc_info=exception)
        error = InternalError(where)
    response = json_response(encode_error(error), error.status)
    if isinstance(error, MethodNotAllowed):
        response.headers[hdrs.ALLOW] = ",".join(error.allowed)
    return response


def refusal(request: web.BaseRequest, exception: Exception, where: str) -> web.Response:
    """The JSON error for a request that is not carried out (``error_response``). A client still
    waiting for ``100 Continue`` is told that the connection closes after the answer, so that a
    body it sends anyway is never read as its next request."""
    response = error_response(exception, where)
    if not request.content.is_eof() and request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
        response.force_close()
    return response


def as_error(exception: Exception) -> FakePayError | None:
    """The fakepay error for an exception: itself, or what aiohttp raised about a body that could
    not be read; None for a bug in fakepay."""
    if isinstance(exception, FakePayError):
        return exception
    if isinstance(exception, (web.RequestPayloadError, HttpProcessingError)):
        return InvalidRequest(f"request body could not be read: {' '.join(str(exception).split())}")
    return None


def is_json(content_type: str | None) -> bool:
    if content_type == _JSON:
        return True
    return content_type is not None and content_type.partition(";")[0].strip().lower() == _JSON


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
    if isinstance(content.exception(), ConnectionError):  # what it sent can no longer be read
        raise InvalidRequest("the client closed the connection before its body was read")
    # The whole body mostly comes with the headers; else it is waited for, at most BODY_TIMEOUT.
    body = content.read_nowait() if content.is_eof() else await _wait_for_body(request)
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(MAX_BODY)
    return body


async def _wait_for_body(request: web.BaseRequest) -> bytes:
    """A body still on its way (a client that asked, with ``Expect: 100-continue``, is told to
    send it now): ``PayloadTooLarge`` as soon as it is over ``MAX_BODY``."""
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge(MAX_BODY)
    expect = request.headers.get(hdrs.EXPECT)
    if expect is not None and expect.lower() == "100-continue" and request.version == HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        return await asyncio.wait_for(_read_all(request.content), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        request.protocol.close()  # answer, then close: the rest of the body cannot be trusted
        raise InvalidRequest(f"the request body was not complete after {BODY_TIMEOUT:g} s "
                             "(a client that stopped sending, or a malformed chunk)") from None
    except ConnectionError:
        raise InvalidRequest("the client closed the connection before its body was complete") from None


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


class ConnectionActivity:
    """When each connection last finished a request (None while one is being answered), for
    ``Server`` to close connections that hold a socket without sending a request; and when the
    connection of a request that waits (an event stream, a request held) closes."""

    def __init__(self) -> None:
        self.last: dict[object, float | None] = {}
        self._closed: dict[object, asyncio.Future[None]] = {}

    def started(self, request: web.BaseRequest) -> None:
        self.last[request.protocol] = None

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
