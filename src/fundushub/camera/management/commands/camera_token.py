from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fundushub.accounts.models import User
from fundushub.camera.models import CameraDevice, ReportType
from fundushub.catalog.models import Camera, LabUnit


class Command(BaseCommand):
    help = (
        "Create a camera device if needed and print a new API token for it as the last line. "
        "The previous token of the device stops working. Only a hash of the token is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("device_id", help="the camera's device id, e.g. RET-CAM-001")
        parser.add_argument(
            "--lab-unit",
            type=int,
            help="lab unit id (required for a new device; fixes its hospital)",
        )
        parser.add_argument("--camera", type=int, help="camera model id")
        parser.add_argument(
            "--report-type",
            choices=ReportType.values,
            help="the device's default report type for new sessions (default combined)",
        )

    @transaction.atomic
    def handle(self, *args, device_id, lab_unit=None, camera=None, report_type=None, **options):
        device = CameraDevice.objects.filter(device_id=device_id).first()
        unit = self._get(LabUnit, lab_unit, "lab unit") if lab_unit is not None else None
        model = self._get(Camera, camera, "camera") if camera is not None else None
        if device is None:
            if unit is None:
                raise CommandError(f"{device_id} is a new device: give its --lab-unit")
            user = User.objects.create_user(f"device:{device_id}"[:150])
            user.set_unusable_password()
            user.save()
            device = CameraDevice.objects.create(
                device_id=device_id,
                hospital=unit.hospital,
                lab_unit=unit,
                camera=model,
                report_type=report_type or ReportType.COMBINED,
                user=user,
            )
            self.stdout.write(f"Created device {device_id} in {unit}.")
        else:
            if unit is not None and unit.hospital_id != device.hospital_id:
                raise CommandError(
                    f"{device_id} belongs to {device.hospital}; a lab unit of another hospital "
                    "cannot be given to it"
                )
            device.lab_unit = unit or device.lab_unit
            device.camera = model or device.camera
            device.report_type = report_type or device.report_type
            device.save()
        self.stdout.write(device.new_token())

    def _get(self, model, pk, what):
        obj = model.objects.filter(pk=pk).first()
        if obj is None:
            raise CommandError(f"There is no {what} with id {pk}")
        return obj
