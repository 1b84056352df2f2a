"""The `fundus-watchdog` command (also `uv run camera_watchdog.py`).

    fundus-watchdog [--config FILE] [flags]     watch and upload until Ctrl+C
    fundus-watchdog --once [...]                process what is there now, then exit
    fundus-watchdog check [--config FILE]       validate everything before going live
    fundus-watchdog status [--config FILE]      failing/blocked subjects and recent archives
    fundus-watchdog simulate --out DIR          a fake camera for demos and tests
    fundus-watchdog --create-config [FILE]      write a commented sample config

Exit codes: 0 fine; 1 not everything archived (--once) or problems found (check);
2 configuration error; 3 another watchdog already runs on this folder.
"""

import argparse
import contextlib
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

from . import __version__
from .config import (
    CONFIG_FILENAME,
    OPTIONS,
    TOKEN_ENV,
    ConfigError,
    find_config_file,
    load_config,
    sample_config,
)
from .lock import AlreadyRunning, InstanceLock
from .logs import close_logging, setup_logging

log = logging.getLogger("fundus_watchdog")
EXIT_OK, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_RUNNING = 0, 1, 2, 3
METAVARS = {
    "path": "PATH",
    "str": "TEXT",
    "identifier": "NAME",
    "regex": "REGEX",
    "float": "SECONDS",
    "int": "N",
}


def build_parser(command: str) -> argparse.ArgumentParser:
    prog = "fundus-watchdog" + ("" if command == "run" else f" {command}")
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__
        if command == "run"
        else f"fundus-watchdog {command}: see fundus-watchdog --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Settings: a JSON file (--config, else ./{CONFIG_FILENAME} and the usual places), then the"
        f" environment ({TOKEN_ENV}), then these flags. Commands: check, status, simulate.",
    )
    parser.add_argument(
        "--config", type=Path, help=f"JSON settings file (default: ./{CONFIG_FILENAME} if present)"
    )
    if command == "run":
        parser.add_argument(
            "--once",
            action="store_true",
            help="process what is ready now, wait for the uploads, exit 0 if all was archived",
        )
        parser.add_argument(
            "--create-config",
            nargs="?",
            const=CONFIG_FILENAME,
            metavar="FILE",
            help=f"write a commented sample config (default {CONFIG_FILENAME}) and exit",
        )
        parser.add_argument("--version", action="version", version=f"fundus-watchdog {__version__}")
    for option in OPTIONS:
        flag = "--" + option.key.replace("_", "-")
        default = "" if option.default is None else f" (default: {option.default})"
        if option.kind == "bool":
            parser.add_argument(
                flag,
                dest=option.key,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=option.help + default,
            )
        else:
            metavar = "|".join(option.choices) if option.choices else METAVARS[option.kind]
            parser.add_argument(
                flag,
                dest=option.key,
                default=argparse.SUPPRESS,
                metavar=metavar,
                help=option.help + default,
            )
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in ("check", "status", "simulate") else "run"
    if command == "simulate":
        from .simulate import main as simulate

        return simulate(argv[1:])
    args = build_parser(command).parse_args(argv[1:] if command != "run" else argv)
    if getattr(args, "create_config", None):
        return _create_config(Path(args.create_config))
    flags = {o.key: getattr(args, o.key) for o in OPTIONS if hasattr(args, o.key)}
    path = args.config or find_config_file()
    try:
        config, warnings, path = load_config(path, flags)
    except ConfigError as exc:
        print("fundus-watchdog: the settings cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        source = (
            f"settings from {path}" if path else f"no --config given and no {CONFIG_FILENAME} found"
        )
        print(f"  ({source}; a sample: fundus-watchdog --create-config)", file=sys.stderr)
        return EXIT_CONFIG
    if command == "check":
        from .check import run_check

        return run_check(config, warnings, path)
    if command == "status":
        return _status(config)
    if not config.watch_dir.is_dir():
        print(
            f"fundus-watchdog: watch_dir {config.watch_dir} does not exist or is not a folder",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    handlers = setup_logging(config.log_level, config.log_file)
    try:
        for warning in warnings:
            log.warning("%s", warning)
        with InstanceLock(config.lock_file):
            log.info("fundus-watchdog %s started%s", __version__, f" with {path}" if path else "")
            from .service import Watchdog

            watchdog = Watchdog(config)
            with _stop_signals_as_ctrl_c():
                if args.once:
                    return watchdog.run_once()
                watchdog.run_forever()
            return EXIT_OK
    except AlreadyRunning as exc:
        log.error("%s", exc)
        return EXIT_RUNNING
    finally:
        close_logging(handlers)


@contextlib.contextmanager
def _stop_signals_as_ctrl_c():
    """A service manager's stop (SIGTERM; Ctrl+Break on Windows) ends the watchdog as cleanly as
    Ctrl+C does: in-flight uploads finish their request, and the journal knows the rest."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    names = [n for n in ("SIGTERM", "SIGBREAK") if hasattr(signal, n)]
    previous = {n: signal.signal(getattr(signal, n), interrupt) for n in names}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def _create_config(path: Path) -> int:
    if path.exists():
        print(f"fundus-watchdog: {path} already exists; not overwriting it", file=sys.stderr)
        return EXIT_CONFIG
    path.write_text(sample_config(), encoding="utf-8")
    print(
        f"wrote {path}: edit watch_dir, db_path, api_url and token, then run: fundus-watchdog check --config {path}"
    )
    return EXIT_OK


def _status(config) -> int:
    """What the journal says: subjects in progress or in trouble, and the latest archives."""
    if not config.journal_path.is_file():
        print(f"no journal at {config.journal_path} yet (the watchdog has not run on this folder)")
        return EXIT_OK
    from .journal import Journal

    journal = Journal(config.journal_path)
    try:
        subjects, history = journal.subjects(), journal.history()[-10:]
    finally:
        journal.close()
    print(f"In progress or needing attention ({len(subjects)}):")
    for s in subjects:
        when = (
            f", next try {datetime.fromtimestamp(s.next_attempt):%H:%M:%S}"
            if s.next_attempt
            else ""
        )
        print(
            f"  {s.folder}: {s.state}, {s.attempts} attempt(s){when}"
            + (f"\n    {s.last_error}" if s.last_error else "")
        )
    print("Latest finished:")
    for _folder, subject, _session, outcome, where, files, finished in history:
        print(
            f"  {datetime.fromtimestamp(finished):%Y-%m-%d %H:%M:%S} {subject}: {outcome}, {files} file(s) -> {where}"
        )
    return EXIT_INCOMPLETE if any(s.state in ("failing", "blocked") for s in subjects) else EXIT_OK
