"""The host names a server answers to by default: those it was started for, never any name at all.

`fundushub demo`/`serve` on 127.0.0.1 answer to the local names only; on 0.0.0.0 (every interface)
to the machine's own names and addresses as the system resolves them; on one address or name, to
that and the local names. An explicit ALLOWED_HOSTS always wins; the command passes its default to
the settings through FUNDUSHUB_DEFAULT_HOSTS.
"""

import ipaddress
import socket

LOCAL_NAMES = ["localhost", "127.0.0.1", "[::1]"]
EVERY_INTERFACE = {"", "0.0.0.0", "::", "[::]"}
ENV = "FUNDUSHUB_DEFAULT_HOSTS"


def as_host(name: str) -> str:
    """A name or address as it appears in a Host header (IPv6 in brackets, no zone)."""
    name = name.strip().strip("[]")
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return name.lower()
    return f"[{address}]" if address.version == 6 else str(address)


def machine_names() -> list[str]:
    """This machine's host name, fully qualified name, and the addresses they resolve to."""
    names = [socket.gethostname(), socket.getfqdn()]
    for name in list(names):
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        names += [info[4][0] for info in infos]
    return names


def names_for(bind_host: str) -> list[str]:
    """The names a server listening on `bind_host` is reached by, local names first, no repeats."""
    extra = machine_names() if bind_host in EVERY_INTERFACE else [bind_host]
    hosts = []
    for name in [*LOCAL_NAMES, *extra]:
        host = as_host(name)
        if host and host not in hosts:
            hosts.append(host)
    return hosts
