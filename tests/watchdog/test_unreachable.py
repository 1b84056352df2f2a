"""A request that gets no answer is explained in plain words, never in requests' own text."""

import errno
import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection

from fundus_watchdog.client import CameraApi
from fundus_watchdog.errors import ApiError, advice

from .conftest import SUBJECT

LIBRARY_WORDS = ("HTTPConnectionPool", "HTTPSConnectionPool", "Max retries", "Caused by", "urllib3")


class NoWait(threading.Event):
    def wait(self, timeout=None):
        return False


def failure(url, timeout=2, token="t") -> ApiError:
    api = CameraApi(url, token, timeout=timeout, retries=1, stop_event=NoWait())
    try:
        with pytest.raises(ApiError) as info:
            api.ping()
    finally:
        api.close()
    return info.value


def said(error: ApiError, url: str) -> str:
    """Everything an operator reads about it: the log line and the advice."""
    text = f"{error}\n{advice(error, SUBJECT, url)}"
    assert not any(word in text for word in LIBRARY_WORDS), text
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_fails(monkeypatch, exc):
    """The operating system's answer to connecting (DNS, routing, timeouts) is `exc`."""

    def create_connection(*args, **kwargs):
        raise exc

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)


def test_a_refused_connection_says_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    error = failure(url)
    assert error.status is None and error.transient
    text = said(error, url)
    assert f"cannot reach the server at {url}: connection refused" in text
    assert "is the server running, and is the port in api_url right?" in text


def test_an_unknown_host_name_says_name_not_found(monkeypatch):
    socket_fails(monkeypatch, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    url = "https://edc.clinic.invalid"
    text = said(failure(url), url)
    assert f"cannot reach the server at {url}: name not found (DNS)" in text


def test_a_connection_that_times_out_says_timed_out(monkeypatch):
    socket_fails(monkeypatch, TimeoutError("timed out"))
    url = "http://10.0.0.7:8000"
    text = said(failure(url, timeout=3), url)
    assert f"cannot reach the server at {url}: timed out connecting (no answer within 3 s)" in text


def test_an_unreachable_network_says_so(monkeypatch):
    socket_fails(monkeypatch, OSError(errno.ENETUNREACH, "Network is unreachable"))
    url = "http://10.0.0.7:8000"
    assert f"cannot reach the server at {url}: network unreachable" in said(failure(url), url)


def test_a_server_that_never_answers_says_timed_out_waiting(stub):
    stub.fail("ping", hang=2)
    error = failure(stub.url, timeout=0.3, token=stub.token)
    assert (
        f"cannot reach the server at {stub.url}: timed out waiting for its answer (0.3 s)"
        in said(error, stub.url)
    )


def test_a_connection_closed_without_an_answer_says_so():
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def accept_and_hang_up():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=accept_and_hang_up)
    thread.start()
    try:
        error = failure(url)
    finally:
        thread.join()
        listener.close()
    assert "the connection was closed before the server answered" in said(error, url)


# TLS -----------------------------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """Self-signed certificates for 127.0.0.1: a good one, one for another name, an expired one."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("tls")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out",
            "req.csr", "-subj", "/CN=test", cwd=d)  # fmt: skip
    for name, san, dates in [
        ("good", "IP:127.0.0.1", ["-days", "3650"]),
        ("other-name", "DNS:other.example", ["-days", "3650"]),
        (
            "expired",
            "IP:127.0.0.1",
            ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
        ),
    ]:
        (d / name).mkdir()
        (d / name / "index").touch()
        (d / name / "serial").write_text("01\n")
        (d / f"{name}.cnf").write_text(
            f"[ca]\ndefault_ca = d\n[d]\ndatabase = {name}/index\nnew_certs_dir = {name}\n"
            f"serial = {name}/serial\ndefault_md = sha256\npolicy = p\nx509_extensions = ext\n"
            f"[p]\ncommonName = supplied\n[ext]\nsubjectAltName = {san}\n"
        )
        openssl("ca", "-batch", "-config", f"{name}.cnf", "-selfsign", "-keyfile", "key.pem",
                "-in", "req.csr", "-out", f"{name}.pem", *dates, cwd=d)  # fmt: skip
    return d


class _Ping(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_server(certificates):
    servers = []

    def start(certificate, tls=True):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ping)
        server.handle_error = lambda request, address: None  # refused handshakes
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificates / certificate, certificates / "key.pem")
            server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        servers.append((server, thread))
        return server.server_address[1]

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_self_signed_certificate_says_it_is_not_trusted(https_server):
    url = f"https://127.0.0.1:{https_server('good.pem')}"
    text = said(failure(url), url)
    assert f"cannot reach the server at {url}: its TLS certificate is not trusted" in text
    assert "REQUESTS_CA_BUNDLE" in text


def test_the_clinics_own_authority_can_be_trusted_through_requests_ca_bundle(
    https_server, certificates, monkeypatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "good.pem"))
    api = CameraApi(f"https://127.0.0.1:{https_server('good.pem')}", "t", retries=1)
    try:
        assert api.ping() == {"status": "ok"}
    finally:
        api.close()


def test_a_certificate_for_another_name_says_so(https_server, certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "other-name.pem"))
    url = f"https://127.0.0.1:{https_server('other-name.pem')}"
    assert "its TLS certificate is for another name" in said(failure(url), url)


def test_an_expired_certificate_says_it_has_expired(https_server, certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "expired.pem"))
    url = f"https://127.0.0.1:{https_server('expired.pem')}"
    assert "its TLS certificate has expired" in said(failure(url), url)


def test_https_to_a_plain_http_port_says_it_does_not_speak_tls(https_server):
    url = f"https://127.0.0.1:{https_server(None, tls=False)}"
    assert "it does not speak TLS (https) on that port" in said(failure(url), url)
