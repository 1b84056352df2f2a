"""The client's address for the audit log: X-Forwarded-For only from proxies we trust."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from fundushub.audit.models import AuditEvent
from fundushub.lib.client_ip import client_ip, parse_networks
from tests.conftest import store_image


def request(peer, forwarded=None):
    headers = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_choose_its_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(request("10.0.0.5", "203.0.113.7")) == "203.0.113.7"


def test_it_takes_the_right_most_untrusted_address_so_a_forged_left_part_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    forged = "1.2.3.4, 203.0.113.7, 10.0.0.8"
    assert client_ip(request("10.0.0.5", forged)) == "203.0.113.7"


def test_when_every_hop_is_a_trusted_proxy_the_left_most_one_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("10.0.0.5", "10.1.1.1, 10.2.2.2")) == "10.1.1.1"


def test_a_garbage_entry_stops_the_walk_at_the_last_trusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("10.0.0.5", "203.0.113.7, not-an-ip, 10.0.0.8")) == "10.0.0.8"
    assert client_ip(request("10.0.0.5", "")) == "10.0.0.5"


def test_ipv6_proxies_and_clients_are_understood(settings):
    settings.TRUSTED_PROXIES = ["2001:db8::/32", "127.0.0.1"]
    assert client_ip(request("2001:db8::1", "[2001:db9::7]")) == "2001:db9::7"
    assert client_ip(request("::ffff:127.0.0.1", "203.0.113.7")) == "203.0.113.7"


def test_a_trusted_proxy_entry_that_is_not_an_address_is_refused_clearly():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES: 'proxy.local'"):
        parse_networks(("10.0.0.1", "proxy.local"))


def test_the_audit_log_records_the_forwarded_client_behind_a_trusted_proxy(client, world, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    image = store_image(world)
    client.force_login(world.mary)
    response = client.get(
        f"/images/{image.id}/original",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="image.original_downloaded")
    assert event.ip == "203.0.113.7"


def test_sign_in_throttling_counts_the_forwarded_client_behind_a_trusted_proxy(
    client, world, settings
):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        "/accounts/login/",
        {"username": "alice", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
