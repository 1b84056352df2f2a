"""The camera half of `fundushub demo`: a simulated fundus camera and a real watchdog.

The simulator writes examinations for registered demo subjects (with the demographics the
registry holds, so session-mode checks pass) into a watch folder; the watchdog, as its own
process exactly as on a camera workstation, uploads them to the demo server.
"""

import json
import os
import random
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

from fundus_watchdog.simulate import Camera as SimulatedCamera
from fundus_watchdog.simulate import subject_identifiers
from fundushub.accounts.models import User
from fundushub.camera.models import CameraDevice, Subject
from fundushub.catalog.models import Camera, LabUnit

DEVICE_ID = "DEMO-CAM-1"
SUBJECTS = 40


def demo_device() -> tuple[CameraDevice, str]:
    """The demo camera device (created once) and a fresh token for it."""
    device = CameraDevice.objects.filter(device_id=DEVICE_ID).first()
    if device is None:
        unit = LabUnit.objects.select_related("hospital").order_by("hospital__name", "name").first()
        user, _ = User.objects.get_or_create(username=f"device:{DEVICE_ID}")
        user.set_unusable_password()
        user.save()
        device = CameraDevice.objects.create(
            device_id=DEVICE_ID,
            hospital=unit.hospital,
            lab_unit=unit,
            camera=Camera.objects.order_by("name").first(),
            user=user,
        )
    return device, device.new_token()


def demo_subjects(device: CameraDevice, count: int = SUBJECTS) -> list[dict]:
    """Register `count` demo subjects at the device's hospital; the same ones on every run."""
    rng = random.Random(1234)
    today = date.today()
    subjects = []
    for identifier in subject_identifiers(count, rng, prefix="105-90"):
        initials = "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2))
        sex, age = rng.choice("MF"), rng.randint(30, 85)
        born = date(today.year - age, today.month, 1) - timedelta(days=1)  # exactly `age` today
        Subject.objects.update_or_create(
            subject_identifier=identifier,
            defaults={
                "initials": initials,
                "sex": sex,
                "date_of_birth": born,
                "site": device.hospital,
            },
        )
        subjects.append({"subject": identifier, "initials": initials, "sex": sex, "age": age})
    return subjects


class CameraDemo:
    """Runs the simulator (a thread) and the watchdog (a child process) until stop()."""

    def __init__(self, data_dir: Path, api_url: str, interval: float = 20.0):
        self.folder = Path(data_dir) / "camera-demo"
        self.watch_dir = self.folder / "RetCamOutput"
        self.api_url = api_url
        self.interval = interval
        self.stop_event = threading.Event()
        self.watchdog: subprocess.Popen | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> "CameraDemo":
        device, token = demo_device()
        subjects = demo_subjects(device)
        self.watch_dir.mkdir(parents=True, exist_ok=True)
        config = self.folder / "camera_config.json"
        config.write_text(
            json.dumps(
                {
                    "watch_dir": str(self.watch_dir),
                    "db_path": str(self.watch_dir / "camera.db"),
                    "api_url": self.api_url,
                    "device_id": DEVICE_ID,
                    "site_id": "demo",
                    "log_file": str(self.folder / "watchdog.log"),
                },
                indent=2,
            )
        )
        camera = SimulatedCamera(self.watch_dir, stop_event=self.stop_event, chunk_delay=0.02)
        self.thread = threading.Thread(
            target=self._simulate, args=(camera, subjects), name="camera-simulator", daemon=True
        )
        self.thread.start()
        self._token, self._config = token, config
        self.spawn_watchdog()
        return self

    def spawn_watchdog(self) -> subprocess.Popen:
        """Start the camera's watchdog (again, when the demo's supervisor saw it die)."""
        env = dict(os.environ, FUNDUS_CAMERA_WATCHDOG_TOKEN=self._token)  # never on a command line
        self.watchdog = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fundus_watchdog",
                "--config",
                str(self._config),
                "--log-level",
                "WARNING",
            ],
            env=env,
        )
        return self.watchdog

    def _simulate(self, camera: SimulatedCamera, subjects: list[dict]) -> None:
        n = 0
        while not self.stop_event.is_set():
            s = subjects[n % len(subjects)]
            report_type = "combined" if n % 3 else "per_eye"
            camera.examination(s["subject"], report_type, demographics=s)
            n += 1
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        if self.watchdog and self.watchdog.poll() is None:
            self.watchdog.terminate()
            try:
                self.watchdog.wait(15)
            except subprocess.TimeoutExpired:
                self.watchdog.kill()
        if self.thread:
            self.thread.join(10)
