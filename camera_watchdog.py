"""The camera watchdog, as the field documentation runs it: `uv run camera_watchdog.py --config camera_config.json`.

The code is the `fundus-watchdog` package (watchdog/ in this repository; installable on its own).
"""

from fundus_watchdog.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
