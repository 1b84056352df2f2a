"""Demo accounts: one per role (two graders, so one can give the other's examinations their
second grading), assigned to lab units, with a quota large enough for demos."""

import secrets

from django.contrib.auth.models import Group

from fundushub.accounts import roles
from fundushub.accounts.models import User
from fundushub.catalog.models import LabUnit

DEMO_QUOTA = 100_000
DEMO_USERS = [
    ("admin", roles.ADMIN, True),
    ("manager", roles.DATA_MANAGER, False),
    ("uploader", roles.UPLOADER, False),
    ("grader", roles.GRADER, False),
    # A second grader and a senior grader: the demo's examinations go through second grading
    # and arbitration, which need someone other than the first grader.
    ("grader2", roles.GRADER, False),
    ("senior", roles.SENIOR_GRADER, False),
]

# Uploaders and graders work in the first hospital's lab units; managers and admins in all.
ONE_HOSPITAL = (roles.UPLOADER, roles.GRADER, roles.SENIOR_GRADER)


def create_demo_users(password: str | None = None) -> dict[str, str]:
    """(Re)set the demo accounts; returns username -> password."""
    roles.ensure_role_groups()
    units = list(LabUnit.objects.all())
    uploader_units = [u for u in units if u.hospital_id == units[0].hospital_id] if units else []
    passwords = {}
    for username, role, superuser in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        pw = password or secrets.token_urlsafe(9)
        user.set_password(pw)
        user.is_staff = superuser
        user.is_superuser = superuser
        user.upload_quota = DEMO_QUOTA
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        user.lab_units.set(uploader_units if role in ONE_HOSPITAL else units)
        passwords[username] = pw
    return passwords
