"""Roles are groups; these helpers are the only place that knows their names."""

from django.contrib.auth.models import Group, Permission

UPLOADER = "Uploader"
DATA_MANAGER = "Data manager"
ADMIN = "Admin"

_ROLE_PERMISSIONS = {
    UPLOADER: ["uploads.add_uploadjob"],
    DATA_MANAGER: ["uploads.add_uploadjob", "uploads.view_all_lab_unit_jobs"],
    ADMIN: ["uploads.add_uploadjob", "uploads.view_all_lab_unit_jobs"],
}


def ensure_role_groups(**kwargs):
    """Create the role groups with their permissions (idempotent; runs after every migrate)."""
    for role, perms in _ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm:
                group.permissions.add(perm)


def has_role(user, role: str) -> bool:
    if not user.is_authenticated:
        return False
    if role == ADMIN and user.is_superuser:
        return True
    return any(g.name == role for g in user.groups.all())


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


def is_data_manager(user) -> bool:
    return has_role(user, DATA_MANAGER)


def can_upload(user) -> bool:
    return user.is_authenticated and user.has_perm("uploads.add_uploadjob")


def sees_lab_unit_jobs(user) -> bool:
    """Admins and data managers see every job in their lab units, not only their own."""
    return user.is_authenticated and user.has_perm("uploads.view_all_lab_unit_jobs")


def context(request):
    user = request.user
    return {
        "can_upload": can_upload(user),
        "is_admin": is_admin(user),
        "sees_camera_sessions": user.is_authenticated
        and (user.is_staff or sees_lab_unit_jobs(user)),
        "role_names": [g.name for g in user.groups.all()] if user.is_authenticated else [],
    }
