"""Request bodies bounded per URL, refused before they are read.

cap_for(environ) -> Cap says how many body bytes a request may send and how it is refused.
BodyLimit (WSGI middleware) answers from the declared Content-Length before the application reads
a byte, and stops a body of unknown length (chunked) as it streams past the cap. Waitress reads a
whole body before calling the application, so bounded_waitress() also teaches its parser the same
caps: a body declared too large is never read, and the connection closes after the answer.
"""

import copy
from collections.abc import Callable
from typing import NamedTuple

from django.core.exceptions import RequestDataTooBig

# Set (as a request header, HTTP_ in the environ) by the waitress parser on a body it did not read.
NOT_READ = "X_FUNDUSHUB_BODY_NOT_READ"
NOT_READ_ENVIRON = f"HTTP_{NOT_READ}"


class Cap(NamedTuple):
    max_bytes: int
    # environ -> (status, headers, body): the answer to a body over max_bytes
    refuse: Callable[[dict], tuple[str, list, bytes]]


class BodyTooLarge(RequestDataTooBig):
    """A body of unknown length went past its cap while the application read it."""


def declared_length(environ) -> int | None:
    raw = environ.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isdigit() else None


class _Bounded:
    """wsgi.input for a body of unknown length: reading past the cap raises BodyTooLarge."""

    def __init__(self, stream, cap: int):
        self.stream, self.cap, self.read_so_far, self.tripped = stream, cap, 0, False

    def _count(self, data: bytes) -> bytes:
        self.read_so_far += len(data)
        if self.read_so_far > self.cap:
            self.tripped = True
            raise BodyTooLarge(f"request body over {self.cap} bytes")
        return data

    def read(self, size=-1):
        # Never more than one byte past the cap, whatever the reader asked for.
        limit = self.cap - self.read_so_far + 1
        return self._count(
            self.stream.read(limit if size is None or size < 0 else min(size, limit))
        )

    def readline(self, size=-1):
        limit = self.cap - self.read_so_far + 1
        return self._count(
            self.stream.readline(limit if size is None or size < 0 else min(size, limit))
        )

    def __iter__(self):
        while line := self.readline():
            yield line


class BodyLimit:
    """WSGI middleware: refuse a body over its URL's cap before the application reads it."""

    def __init__(self, app, cap_for: Callable[[dict], Cap]):
        self.app, self.cap_for = app, cap_for

    def __call__(self, environ, start_response):
        length = declared_length(environ)
        chunked = length is None and "HTTP_TRANSFER_ENCODING" in environ
        if not (length or chunked or NOT_READ_ENVIRON in environ):
            return self.app(environ, start_response)  # no body: nothing to bound (most requests)
        cap = self.cap_for(environ)
        if NOT_READ_ENVIRON in environ or (length is not None and length > cap.max_bytes):
            return self._refuse(cap, environ, start_response)
        if length is not None:
            return self.app(environ, start_response)
        bounded = environ["wsgi.input"] = _Bounded(environ["wsgi.input"], cap.max_bytes)
        answer = []

        def hold(status, headers, exc_info=None):  # sent only once we know the body fit
            answer[:] = [status, headers, exc_info]

        body = self.app(environ, hold)
        if bounded.tripped:  # whatever the application made of the exception, the answer is this
            if hasattr(body, "close"):
                body.close()
            return self._refuse(cap, environ, start_response)
        start_response(*answer)
        return body

    @staticmethod
    def _refuse(cap, environ, start_response):
        status, headers, body = cap.refuse(environ)
        headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]


def bounded_waitress(app, cap_for: Callable[[dict], Cap], after=lambda: None, **adjustments):
    """A waitress server whose parser reads no body over its URL's cap (after: run once a cap
    was worked out in waitress's I/O thread, e.g. to release a database connection)."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import BaseWSGIServer, create_server

    class Parser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            self.headers.pop(NOT_READ, None)  # only this parser says so, never the client
            if self.body_rcv is None:
                return
            try:
                cap = cap_for({"PATH_INFO": self.path, "REQUEST_METHOD": self.command}).max_bytes
            finally:
                after()
            # This request's own ceiling (waitress refuses at >=): a chunked body is counted as it
            # arrives, and a cap an admin raised since the start holds too.
            self.adj = copy.copy(self.adj)
            self.adj.max_request_body_size = cap + 1
            if not self.chunked and self.content_length > cap:
                # Not read: the application answers from the declared length; the body's bytes
                # are still on the socket, so the connection closes after the answer.
                self.body_rcv, self.content_length = None, 0
                self.headers[NOT_READ] = str(cap)
                self.headers["CONNECTION"] = "close"
                self.connection_close, self.expect_continue = True, False

    class Channel(HTTPChannel):
        parser_class = Parser

    servers = {}
    server = create_server(app, map=servers, **adjustments)
    for listener in list(servers.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = Channel
    return server
