"""The sign-in page after a wrong password keeps the username typed (issue 11, C22)."""


def test_a_wrong_password_keeps_the_username_and_moves_focus_to_the_password(client, world):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="username" autocomplete="username" value="alice" required>' in text
    assert 'autocomplete="current-password" autofocus required>' in text


def test_the_username_is_escaped_when_kept(client, world):
    response = client.post("/accounts/login/", {"username": '"><b>x', "password": "wrong"})
    assert 'value="&quot;&gt;&lt;b&gt;x"' in response.content.decode()


def test_a_first_visit_focuses_an_empty_username(client, world):
    text = client.get("/accounts/login/").content.decode()
    assert 'name="username" autocomplete="username" value="" autofocus required>' in text
