"""Roles are groups; these helpers are the only place that knows their names."""

from django.contrib.auth.models import AnonymousUser, Group, Permission

UPLOADER = "Uploader"
DATA_MANAGER = "Data manager"
ADMIN = "Admin"
GRADER = "Grader"
SENIOR_GRADER = "Senior grader"

_MANAGE = [
    "uploads.add_uploadjob",
    "uploads.view_all_lab_unit_jobs",
    "images.upload_pregraded",
    "images.download_original",
]
_ROLE_PERMISSIONS = {
    UPLOADER: ["uploads.add_uploadjob"],
    DATA_MANAGER: _MANAGE,
    ADMIN: _MANAGE,
    # Graders see their lab units' images and record grades; they do not upload or edit.
    GRADER: ["images.grade_image"],
    # Senior graders also arbitrate disagreements and revise decided outcomes.
    SENIOR_GRADER: ["images.grade_image", "grading.arbitrate_examination"],
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


def can_grade(user) -> bool:
    return user.is_authenticated and user.has_perm("images.grade_image")


def can_arbitrate(user) -> bool:
    return user.is_authenticated and user.has_perm("grading.arbitrate_examination")


def sees_quality(user) -> bool:
    """The grading quality figures: senior graders, data managers and admins."""
    return can_arbitrate(user) or sees_lab_unit_jobs(user)


def can_upload_pregraded(user) -> bool:
    return user.is_authenticated and user.has_perm("images.upload_pregraded")


def can_download_original(user) -> bool:
    """Untouched originals (with whatever metadata the camera embedded): admins and data managers."""
    return user.is_authenticated and user.has_perm("images.download_original")


def can_manage_image(user, image) -> bool:
    """Edit metadata or pixels, or delete: data managers and admins for every image they see,
    uploaders for the images they uploaded themselves. (Seeing it is checked by the caller.)"""
    if not user.is_authenticated:
        return False
    if sees_lab_unit_jobs(user):
        return True
    return can_upload(user) and image.uploaded_by_id == user.pk


def context(request):
    # A request refused before authentication (a Host not in ALLOWED_HOSTS) has no user yet.
    user = getattr(request, "user", None) or AnonymousUser()
    return {
        "can_upload": can_upload(user),
        "is_admin": is_admin(user),
        "can_grade": can_grade(user),
        "can_arbitrate": can_arbitrate(user),
        "sees_quality": sees_quality(user),
        "sees_camera_sessions": user.is_authenticated
        and (user.is_staff or sees_lab_unit_jobs(user)),
        "role_names": [g.name for g in user.groups.all()] if user.is_authenticated else [],
    }
