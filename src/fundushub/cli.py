"""The `fundushub` command: demo, serve, worker, manage."""

import argparse
import os
import signal
import subprocess
import sys

from fundushub.lib.supervisor import Supervisor


def _setup(data_dir: str | None) -> None:
    if data_dir:
        os.environ["FUNDUSHUB_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundushub.settings")
    import django

    django.setup()


def _serve(host: str, port: int, threads: int, processes: int = 1) -> None:
    """Gunicorn where it runs (POSIX); waitress on Windows, for the demo, or with processes=0."""
    if os.name == "posix" and processes > 0:
        _serve_gunicorn(host, port, threads, processes)
    else:
        _serve_waitress(host, port, threads)


def _serve_waitress(host: str, port: int, threads: int) -> None:
    from django.db import close_old_connections

    from fundushub.lib.bodylimit import bounded_waitress
    from fundushub.request_bodies import cap_for, largest_cap
    from fundushub.wsgi import application

    # Waitress reads a whole request body before the app sees it: to disk past 1 MB, so large
    # uploads never sit in memory. Its parser knows each URL's cap (fundushub.request_bodies) and
    # reads no body over it; the app then answers from the declared length.
    server = bounded_waitress(
        application,
        cap_for,
        after=close_old_connections,  # caps read the upload limits in waitress's I/O thread
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=largest_cap(),
        inbuf_overflow=1024 * 1024,
        channel_timeout=300,
        ident="fundushub",
    )
    server.print_listen("Serving on http://{}:{}")
    server.run()


def _serve_gunicorn(host: str, port: int, threads: int, processes: int) -> None:
    """Gunicorn (POSIX only): several processes, and bodies streamed to the app as they arrive,
    so an upload is hashed and written once instead of spooled first."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": processes,
                "threads": threads,
                "worker_class": "gthread",
                "keepalive": 30,  # camera watchdogs reuse their connection between requests
                "timeout": 120,  # a worker silent this long is restarted (requests may run longer)
                "graceful_timeout": 30,
                "proc_name": "fundushub",
                "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
                "errorlog": "-",
                # Django decides what a proxy header means (BEHIND_HTTPS_PROXY), not gunicorn.
                "forwarded_allow_ips": "",
                "secure_scheme_headers": {},
                "control_socket_disable": True,  # one fixed path per user: two servers would clash
                "child_exit": _forget_dead_process,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from fundushub.wsgi import application

            return application

    Server().run()


def _forget_dead_process(server, worker) -> None:
    """A web process that exited leaves its live gauges behind in multiprocess mode: drop them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _default_hosts(host: str) -> None:
    """Unless ALLOWED_HOSTS is set, the site answers to the names `host` is reached by (lib/hosts.py)."""
    from fundushub.lib import hosts

    if not os.environ.get("ALLOWED_HOSTS", "").strip():
        os.environ[hosts.ENV] = ",".join(hosts.names_for(host))


def _print_hosts() -> None:
    from django.conf import settings

    print(
        f"Answering to host names: {', '.join(settings.ALLOWED_HOSTS)} "
        "(set ALLOWED_HOSTS to change them)",
        flush=True,
    )


def _spawn_worker(data_dir: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    if data_dir:
        env["FUNDUSHUB_DATA_DIR"] = data_dir
    return subprocess.Popen([sys.executable, "-m", "fundushub", "worker"], env=env)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    if os.name == "posix":
        proc.send_signal(signal.SIGINT)
    else:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _watchdog_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("fundus_watchdog") is not None


def cmd_demo(args) -> int:
    _default_hosts(args.host)
    _setup(args.data_dir)
    from django.conf import settings
    from django.core.management import call_command

    from fundushub.accounts.demo import create_demo_users
    from fundushub.catalog.reference import load_reference_data

    call_command("migrate", interactive=False, verbosity=0)
    load_reference_data(demo=True)
    passwords = create_demo_users(args.demo_password)
    _seed_demo_images(args.seed_images)
    # The worker is a child process: one that dies is started again (with back-off, logged),
    # so uploads never wait for ever behind a dead worker.
    worker = Supervisor("worker", lambda: _spawn_worker(args.data_dir), _stop).start()
    url = f"http://{args.host}:{args.port}/"
    print(f"\nFundus Hub demo — data in {settings.DATA_DIR}")
    print(f"Open {url}  (admin site: {url}admin/)")
    _print_hosts()
    print()
    print("Demo accounts (username / password):")
    for username, pw in passwords.items():
        print(f"  {username:10s} {pw}")
    camera = None
    if not args.no_camera and not _watchdog_installed():
        print("The simulated cameras need the watchdog package (`uv sync` installs it with the")
        print("default groups); running the demo without them.")
    elif not args.no_camera:
        from fundushub.camera.demo import CameraDemo

        local = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        camera = CameraDemo(settings.DATA_DIR, f"http://{local}:{args.port}", args.camera_interval)
        camera.start()
        # CameraDemo.stop() stops the watchdog itself; the supervisor only brings it back.
        camera_watchdog = Supervisor("camera watchdog", camera.spawn_watchdog, lambda p: None)
        camera_watchdog.start(running=camera.watchdog)
        print(
            f"\nSimulated camera: an examination every {args.camera_interval:g} s into "
            f"{camera.watch_dir}, uploaded by the camera watchdog (see Camera sessions)."
        )
    print("\nPress Ctrl+C to stop.", flush=True)
    try:
        # One process: the simulated camera and its watchdog run as threads beside the site.
        _serve(args.host, args.port, args.threads, processes=0)
    except KeyboardInterrupt:
        pass
    finally:
        if camera:
            camera_watchdog.stop()
            camera.stop()
        worker.stop()
        print("Stopped.")
    return 0


def _seed_demo_images(n: int) -> None:
    """A new demo's dashboard and worklists have something to show: synthetic images, once,
    filed into examinations that the demo graders take through every grading stage."""
    from fundushub.grading.demo import work_demo_examinations
    from fundushub.grading.models import Stage
    from fundushub.library.seeding import seed_images
    from fundushub.store.models import Image

    if n and not Image.objects.exists():
        print(f"Adding {n} synthetic fundus images for the dashboard...", flush=True)
        seed_images(n, size=(768, 576))
        stages = work_demo_examinations()
        print(
            f"Filed them into {sum(stages.values())} examinations and graded some: "
            + ", ".join(f"{stages[s]} {s.label.lower()}" for s in Stage)
        )


def cmd_serve(args) -> int:
    _default_hosts(args.host)
    if os.name == "posix" and args.processes > 1:
        _share_metrics_between_processes()
    _setup(args.data_dir)
    print(f"Serving on http://{args.host}:{args.port}/ (Ctrl+C stops)", flush=True)
    _print_hosts()
    try:
        _serve(args.host, args.port, args.threads, args.processes)
    except KeyboardInterrupt:
        pass
    return 0


def _share_metrics_between_processes() -> None:
    """Several web processes answer /metrics for all of them: prometheus_client's multiprocess
    mode, which must be chosen before it is first imported. A fresh folder per start, so no
    figure survives from a previous run; PROMETHEUS_MULTIPROC_DIR set by the operator wins."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fundushub-metrics-")


def cmd_worker(args) -> int:
    _setup(args.data_dir)
    from django.core.management import call_command

    try:
        call_command("worker", once=args.once)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_manage(args) -> int:
    _setup(args.data_dir)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fundushub manage", *args.rest])
    return 0


def _default_processes() -> int:
    return min(os.cpu_count() or 1, 4) if os.name == "posix" else 1


def _add_command(sub, name: str, func, help_text: str) -> argparse.ArgumentParser:
    """A subcommand; every one takes --data-dir."""
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument(
        "--data-dir",
        help="where the database, files and secret key live "
        "(default: $FUNDUSHUB_DATA_DIR, else ./var)",
    )
    p.set_defaults(func=func)
    return p


def _add_http_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--threads", type=int, default=8, help="request threads (default %(default)s)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fundushub",
        description="Fundus Hub: retinal-image uploads, camera ingestion and the image store.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = _add_command(
        sub,
        "demo",
        cmd_demo,
        "Migrate, load demo data and accounts, then run the site and a worker.",
    )
    _add_http_options(demo)
    demo.add_argument("--demo-password", help="set every demo account to this password")
    demo.add_argument(
        "--no-camera",
        action="store_true",
        help="do not run the simulated camera and its watchdog",
    )
    demo.add_argument(
        "--camera-interval",
        type=float,
        default=20.0,
        help="seconds between simulated examinations (default %(default)s)",
    )
    demo.add_argument(
        "--seed-images",
        type=int,
        default=150,
        metavar="N",
        help="synthetic images added when the store is empty (default %(default)s; 0: none)",
    )
    serve = _add_command(sub, "serve", cmd_serve, "Run the web site only (no worker).")
    _add_http_options(serve)
    serve.add_argument(
        "--processes",
        type=int,
        default=_default_processes(),
        help="web processes, each with --threads threads (default %(default)s: one per CPU, at "
        "most 4; 0 or Windows: one process, served by waitress)",
    )
    worker = _add_command(sub, "worker", cmd_worker, "Run the background task worker only.")
    worker.add_argument("--once", action="store_true", help="process pending work, then exit")
    manage = _add_command(
        sub, "manage", cmd_manage, "Run a Django management command, e.g. 'manage migrate'."
    )
    manage.add_argument("rest", nargs=argparse.REMAINDER, help="the command and its arguments")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if os.name == "posix":
        signal.signal(signal.SIGTERM, _terminate)
    sys.exit(args.func(args))


def _terminate(signum, frame):
    # A service manager's SIGTERM stops the demo/serve as cleanly as Ctrl+C does.
    raise KeyboardInterrupt
