"""Django's password validators: where people choose passwords (the admin, changepassword)."""

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from fundushub.accounts.models import User


@pytest.mark.parametrize("password", ["password", "pw", "1234567890123"])
def test_weak_passwords_are_rejected(world, password):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, world.alice)


def test_a_long_uncommon_password_is_accepted(world):
    password_validation.validate_password("lantern-orbit-quietly-7", world.alice)


def test_the_admin_refuses_to_create_a_user_with_the_password_password(client, world):
    client.force_login(world.root)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newbie",
            "password1": "password",
            "password2": "password",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_the_admin_creates_a_user_with_a_strong_password(client, world):
    client.force_login(world.root)
    strong = "lantern-orbit-quietly-7"
    response = client.post(
        "/admin/accounts/user/add/",
        {"username": "newbie", "password1": strong, "password2": strong, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").check_password(strong)
