import io

from django.contrib.auth import authenticate, password_validation
from django.core.management import call_command
from django.test import RequestFactory

from fundushub.accounts import roles
from fundushub.accounts.models import User
from fundushub.catalog.reference import load_reference_data


def sign_in(username, password):
    """authenticate() as the sign-in page calls it: with the request (axes requires one)."""
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password)


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
    assert sign_in("uploader", "secret") is not None


def test_two_graders_and_a_senior_grader_share_the_graders_lab_units(db):
    # Second grading needs another grader, arbitration a senior one: the demo has both.
    load_reference_data(demo=True)
    run("--password", "secret")
    grader, grader2, senior = (
        User.objects.get(username=n) for n in ("grader", "grader2", "senior")
    )
    assert roles.can_grade(grader2) and not roles.can_arbitrate(grader2)
    assert roles.has_role(senior, roles.SENIOR_GRADER) and roles.can_arbitrate(senior)
    units = set(grader.lab_units.all())
    assert units and set(grader2.lab_units.all()) == set(senior.lab_units.all()) == units
    assert sign_in("senior", "secret") is not None


def test_demo_accounts_get_a_large_quota_and_new_accounts_the_default(db):
    load_reference_data(demo=True)
    run()
    assert User.objects.get(username="uploader").effective_quota() >= 10_000
    assert User.objects.create_user("new").effective_quota() == 50


def test_without_a_password_each_account_gets_a_random_one_printed(db):
    load_reference_data(demo=True)
    lines = run().splitlines()
    passwords = dict(line.split() for line in lines)
    assert set(passwords) == {"admin", "manager", "uploader", "grader", "grader2", "senior"}
    assert len(set(passwords.values())) == 6
    assert sign_in("manager", passwords["manager"]) is not None


def test_a_short_demo_password_given_by_the_operator_still_signs_in(db):
    # The password rules apply where people choose passwords (admin, changepassword), not to
    # the demo's own accounts: `fundushub demo --demo-password demo` must keep working.
    load_reference_data(demo=True)
    run("--password", "demo")
    assert sign_in("uploader", "demo") is not None


def test_the_random_demo_passwords_pass_the_password_rules(db):
    load_reference_data(demo=True)
    passwords = dict(line.split() for line in run().splitlines())
    for username, password in passwords.items():
        user = User.objects.get(username=username)
        password_validation.validate_password(password, user)
