"""Camera devices sign in with `Authorization: Token <key>`; only the key's hash is stored."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission

from fundushub.camera.models import CameraDevice, hash_token


class DeviceTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        device = (
            CameraDevice.objects.select_related("user").filter(token_hash=hash_token(key)).first()
        )
        if device is None or not device.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return device.user, device


class IsCameraDevice(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, CameraDevice)
