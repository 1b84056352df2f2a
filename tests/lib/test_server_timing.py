"""Server-Timing on API responses: the server's own time, so clients can tell it from the network."""

import re

import pytest


@pytest.mark.django_db
def test_api_responses_say_how_long_the_server_took(client):
    response = client.get("/api/retinopathy/ping/")
    assert response.status_code == 401
    assert re.fullmatch(r"app;dur=\d+\.\d\d", response["Server-Timing"])


@pytest.mark.django_db
def test_pages_do_not_carry_the_header(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Server-Timing" not in response
