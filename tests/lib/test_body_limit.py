"""fundushub.lib.bodylimit.BodyLimit, called as a WSGI server calls it."""

import io

from fundushub.lib.bodylimit import BodyLimit, Cap

CAP = Cap(1000, lambda environ: ("413 Content Too Large", [("Content-Type", "text/plain")], b"no"))


class App:
    """Reads the whole body (as Django does for a form), then answers 200 with its length."""

    def __init__(self):
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        try:
            size = len(environ["wsgi.input"].read())
        except Exception:
            start_response("500 Internal Server Error", [])
            return [b"failed"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(size).encode()]


def call(app, body: bytes, declared: str | None):
    environ = {"PATH_INFO": "/x", "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body)}
    if declared is not None:
        environ["CONTENT_LENGTH"] = declared
    else:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    answer["body"] = b"".join(BodyLimit(app, lambda environ: CAP)(environ, start_response))
    return answer


def test_it_refuses_a_declared_body_over_the_cap_without_calling_the_app():
    app = App()
    answer = call(app, b"", declared="1001")
    assert answer["status"].startswith("413") and answer["body"] == b"no"
    assert answer["headers"]["Content-Length"] == "2"
    assert app.calls == 0


def test_it_leaves_a_request_without_a_body_alone():
    app = App()
    environ = {"PATH_INFO": "/x", "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    limit = BodyLimit(app, lambda environ: 1 / 0)  # no cap is even worked out
    assert b"".join(limit(environ, lambda status, headers: None)) == b"0"


def test_it_passes_a_body_within_the_cap():
    answer = call(App(), b"x" * 1000, declared="1000")
    assert answer["status"] == "200 OK" and answer["body"] == b"1000"


def test_it_stops_a_body_of_unknown_length_as_it_streams_past_the_cap():
    answer = call(App(), b"x" * 5000, declared=None)
    assert answer["status"].startswith("413") and answer["body"] == b"no"


def test_it_passes_a_body_of_unknown_length_within_the_cap():
    answer = call(App(), b"x" * 999, declared=None)
    assert answer["status"] == "200 OK" and answer["body"] == b"999"
