"""`python -m fundus_watchdog`."""

from .cli import main

raise SystemExit(main())
