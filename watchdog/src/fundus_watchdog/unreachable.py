"""Why a request got no answer, in words an operator can act on.

requests wraps urllib3, which wraps the socket and TLS errors; its own text
("HTTPConnectionPool(host=..., port=...): Max retries exceeded ... (Caused by NewConnectionError(...")
names library internals, not the cause. This walks the chain of wrapped exceptions to the cause
and says it plainly: (what happened, what to check). Only requests' and the standard library's
exception types are used (urllib3 is requests' business, not a dependency of ours).
"""

import errno
import http.client
import socket
import ssl

import requests

CHECK_NETWORK = "check the network and api_url"
_CA_HINT = (
    "ask IT for a certificate from a public authority, or set REQUESTS_CA_BUNDLE to the file of"
    " the clinic's own certificate authority"
)
# OpenSSL verify codes (X509_V_ERR_*)
_EXPIRED, _NOT_YET_VALID = 10, 9
_UNTRUSTED = {18, 19, 20, 21, 2}  # self-signed, self-signed in chain, unknown issuer, ...
_HOSTNAME_MISMATCH, _IP_MISMATCH = 62, 64


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (`reason`, arguments, `__cause__`, `__context__`)."""
    found, stack = [], [exc]
    while stack:
        current = stack.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__]
        inner += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        stack += [e for e in inner if isinstance(e, BaseException)]
    return found


def _first(chain, kinds):
    return next((e for e in chain if isinstance(e, kinds)), None)


def _tls(chain) -> tuple[str, str] | None:
    verify = _first(chain, ssl.SSLCertVerificationError)
    if verify is not None:
        code = getattr(verify, "verify_code", None)
        if code == _EXPIRED:
            return "its TLS certificate has expired", "ask the server admin to renew it"
        if code == _NOT_YET_VALID:
            return (
                "its TLS certificate is not valid yet",
                "check this computer's date and time, or ask the server admin",
            )
        if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
            return (
                "its TLS certificate is for another name",
                "use in api_url the name the certificate was issued for",
            )
        if code in _UNTRUSTED:
            return (
                "its TLS certificate is not trusted by this computer (self-signed or from an"
                " unknown authority)",
                _CA_HINT,
            )
        message = getattr(verify, "verify_message", "") or "verification failed"
        return f"its TLS certificate was refused ({message})", _CA_HINT
    tls = _first(chain, (ssl.SSLError, requests.exceptions.SSLError))
    if tls is None:
        return None
    if any("WRONG_VERSION_NUMBER" in str(e) or "wrong version number" in str(e) for e in chain):
        return (
            "it does not speak TLS (https) on that port",
            "use http:// or the server's https port in api_url",
        )
    return "the TLS (https) handshake failed", "check api_url, or ask the server admin"


def explain(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(what happened, what to check) for a request that got no HTTP answer."""
    chain = causes(exc)
    tls = _tls(chain)
    if tls:
        return tls
    if _first(chain, socket.gaierror):
        return (
            "name not found (DNS)",
            "check the server name in api_url and this computer's network/DNS settings",
        )
    if _first(chain, requests.exceptions.ProxyError):
        return (
            "the proxy refused or failed the connection",
            "check the proxy settings (HTTPS_PROXY / HTTP_PROXY, NO_PROXY)",
        )
    if _first(chain, ConnectionRefusedError):
        return (
            "connection refused",
            "is the server running, and is the port in api_url right?",
        )
    # (urllib3's NewConnectionError is a ConnectTimeoutError too: ask requests' own verdict.)
    if _first(chain, requests.exceptions.ConnectTimeout):
        return (
            f"timed out connecting (no answer within {timeout:g} s)",
            "check the network, firewall or VPN, and that the server is up",
        )
    if _first(chain, requests.exceptions.ReadTimeout):
        return (
            f"timed out waiting for its answer ({timeout:g} s)",
            "the server may be overloaded; it is tried again",
        )
    if _first(chain, requests.exceptions.ChunkedEncodingError):
        return "its answer was cut off", CHECK_NETWORK
    closed = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
    if _first(chain, closed + (http.client.RemoteDisconnected,)):
        return (
            "the connection was closed before the server answered",
            "check the server's log, or a proxy or firewall between",
        )
    os_error = next((e for e in chain if isinstance(e, OSError) and e.errno), None)
    if os_error is not None and os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        what = "network" if os_error.errno == errno.ENETUNREACH else "host"
        return f"{what} unreachable", "check this computer's network connection and api_url"
    if _first(chain, (TimeoutError, socket.timeout)):
        return f"timed out (no answer within {timeout:g} s)", CHECK_NETWORK
    if _first(chain, requests.exceptions.InvalidURL):
        return "api_url is not a valid address", "correct api_url"
    if os_error is not None and os_error.strerror:  # the operating system's own words
        return os_error.strerror[0].lower() + os_error.strerror[1:], CHECK_NETWORK
    return "the connection failed", CHECK_NETWORK
