import io

from django.contrib.auth import authenticate
from django.core.management import call_command

from fundushub.accounts import roles
from fundushub.accounts.models import User
from fundushub.catalog.reference import load_reference_data


def run(*args):
    out = io.StringIO()
    call_command("create_demo_users", *args, stdout=out)
    return out.getvalue()


def test_it_creates_one_account_per_role_assigned_to_lab_units(db):
    load_reference_data(demo=True)
    run("--password", "secret")
    admin, manager, uploader, grader = (
        User.objects.get(username=n) for n in ("admin", "manager", "uploader", "grader")
    )
    assert roles.is_admin(admin) and admin.is_superuser
    assert roles.is_data_manager(manager) and not manager.is_superuser
    assert roles.has_role(uploader, roles.UPLOADER) and roles.can_upload(uploader)
    assert roles.can_grade(grader) and not roles.can_upload(grader)
    assert all(u.lab_units.exists() for u in (admin, manager, uploader, grader))
    assert authenticate(username="uploader", password="secret") is not None


def test_demo_accounts_get_a_large_quota_and_new_accounts_the_default(db):
    load_reference_data(demo=True)
    run()
    assert User.objects.get(username="uploader").effective_quota() >= 10_000
    assert User.objects.create_user("new").effective_quota() == 50


def test_without_a_password_each_account_gets_a_random_one_printed(db):
    load_reference_data(demo=True)
    lines = run().splitlines()
    passwords = dict(line.split() for line in lines)
    assert set(passwords) == {"admin", "manager", "uploader", "grader"}
    assert len(set(passwords.values())) == 4
    assert authenticate(username="manager", password=passwords["manager"]) is not None
