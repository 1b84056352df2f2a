"""The host names a server answers to by default (lib/hosts.py)."""

import socket

from fundushub.lib.hosts import LOCAL_NAMES, as_host, names_for


def test_on_the_loopback_address_only_local_names_are_answered():
    assert names_for("127.0.0.1") == LOCAL_NAMES
    assert names_for("localhost") == LOCAL_NAMES
    assert names_for("::1") == LOCAL_NAMES


def test_on_every_interface_the_machines_own_names_and_addresses_are_answered(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "Retina-PC")
    monkeypatch.setattr(socket, "getfqdn", lambda: "retina-pc.clinic.lan")
    addresses = {
        "Retina-PC": ["192.0.2.10", "fe80::1%eth0"],
        "retina-pc.clinic.lan": ["192.0.2.10"],
    }

    def getaddrinfo(name, *args, **kwargs):
        return [(0, 0, 0, "", (a, 0)) for a in addresses[name]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert names_for("0.0.0.0") == [
        *LOCAL_NAMES,
        "retina-pc",
        "retina-pc.clinic.lan",
        "192.0.2.10",
        "[fe80::1]",
    ]


def test_a_name_that_does_not_resolve_still_gives_the_host_name(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "lonely")
    monkeypatch.setattr(socket, "getfqdn", lambda: "lonely")

    def fail(*args, **kwargs):
        raise socket.gaierror("no such name")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert names_for("::") == [*LOCAL_NAMES, "lonely"]


def test_one_address_is_answered_with_the_local_names():
    assert names_for("192.0.2.7") == [*LOCAL_NAMES, "192.0.2.7"]
    assert as_host("2001:DB8::5") == "[2001:db8::5]"


def test_a_request_for_a_host_the_site_does_not_answer_to_gets_the_400_page(client, db):
    response = client.get("/accounts/login/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="localhost").status_code == 200
