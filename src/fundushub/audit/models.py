"""Audit events: who did what, when, from where. Rows are only ever added."""

from django.conf import settings
from django.db import models

from fundushub.lib.client_ip import client_ip


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type} {self.object_id}"


def record(action, *, user=None, obj=None, request=None, ip=None, user_agent="", **data):
    """Add one audit event; request (when given) supplies the user, IP and user agent."""
    if request is not None:
        user = user or (request.user if request.user.is_authenticated else None)
        ip = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")
    return AuditEvent.objects.create(
        action=action,
        user=user,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip=ip,
        user_agent=(user_agent or "")[:500],
        data=data,
    )
