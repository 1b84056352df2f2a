"""Camera devices sign in with `Authorization: Token <key>`; only the key's hash is stored."""

from django.utils.functional import SimpleLazyObject
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission

from fundushub.camera.models import CameraDevice, hash_token
from fundushub.lib.prepared import PreparedQuery

# Every camera request starts here: compiled once (see fundushub.lib.prepared).
DEVICE_BY_TOKEN = PreparedQuery(
    CameraDevice,
    lambda token_hash: CameraDevice.objects.filter(
        token_hash=token_hash, user__is_active=True
    ).order_by()[:1],
    token_hash="token_hash",
)


class DeviceTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        device = DEVICE_BY_TOKEN.first(token_hash=hash_token(key))
        if device is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        # The device's account is active (the query says so); it is loaded only if a view asks.
        return SimpleLazyObject(lambda: device.user), device


class IsCameraDevice(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, CameraDevice)
