"""A private stack the fault tests may break: PostgreSQL, Redis, Celery, gunicorn, a receiver.

Nothing here touches the machine's shared services: PostgreSQL is a fresh ``initdb`` cluster in a
temporary directory on its own port, Redis a fresh ``redis-server`` on its own port, and every
worker, beat and web process is a real subprocess pointed at them through its environment.
"""

import glob
import hashlib
import hmac
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# Below Linux's ephemeral range (32768-60999 by default): a port in it can be held, at the moment
# the server binds, by any outgoing connection on the machine, and the start fails at random.
DEFAULT_PG_PORT = 25432
DEFAULT_REDIS_PORT = 26379
PG_PORT = int(os.environ.get("CHAOS_PG_PORT") or DEFAULT_PG_PORT)
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT") or DEFAULT_REDIS_PORT)
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/touchstone"
BROKER_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
CACHE_URL = f"redis://127.0.0.1:{REDIS_PORT}/1"
WEBHOOK_SECRET = "chaos-webhook-secret"  # noqa: S105 - a test receiver's shared secret


def free_port() -> int:
    """A port nobody listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ephemeral_ports() -> range:
    """The ports the kernel hands out to outgoing connections (``ip_local_port_range``)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        low, high = "32768", "60999"
    return range(int(low), int(high) + 1)


def warn_if_ephemeral(ports: dict[str, int]) -> None:
    """Say which chosen port the kernel may also hand to an outgoing connection."""
    ephemeral = ephemeral_ports()
    for name, port in ports.items():
        if port in ephemeral:
            print(
                f"chaos: warning: {name}={port} lies in this machine's ephemeral range "
                f"({ephemeral.start}-{ephemeral.stop - 1}); a server start may fail at random"
            )


def _pg_bin(name: str) -> str:
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return path


class PrivatePostgres:
    """A throwaway cluster: ``initdb`` in ``base``, trust auth, on ``PG_PORT``.

    PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to ``postgres``
    and every command runs through ``runuser``.
    """

    def __init__(self) -> None:
        # Its own directory under /tmp: pytest's temporary tree is private to root.
        base = Path(tempfile.mkdtemp(prefix="touchstone-chaos-pg-"))
        self.base = base
        self.dir = base / "pgdata"
        self.log = base / "postgres.log"
        self.socket_dir = base / "pgsock"
        self.as_postgres = os.geteuid() == 0

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else list(cmd)
        return subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            full, check=check, capture_output=True, text=True, timeout=120
        )

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            for path in (self.base, self.socket_dir, self.log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(_pg_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E",
                  "UTF8", "--no-sync")  # fmt: skip
        self.start()
        self._run(
            _pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres",
            "touchstone",
        )  # fmt: skip

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        options = (
            f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        return self._run(
            _pg_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.log), "-o", options, *args,
            check=check,
        )  # fmt: skip

    def start(self) -> None:
        started = self._ctl("start", "-w", "-t", "60", check=False)
        if started.returncode != 0:
            raise RuntimeError(self.failure("start", started))

    def failure(self, action: str, result: subprocess.CompletedProcess) -> str:
        """Why pg_ctl failed, in the error itself: the cluster and its log are removed after."""
        try:
            log = self.log.read_text(errors="replace").splitlines()[-20:]
        except OSError as exc:
            log = [f"(no server log: {exc})"]
        return "\n".join(
            [
                f"private PostgreSQL did not {action} on port {PG_PORT} "
                f"(pg_ctl exit {result.returncode}): {result.stderr.strip()}",
                f"last lines of {self.log}:",
                *log,
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-w", "-m", mode, "-t", "60", check=False)

    def restart(self, mode: str = "fast") -> None:
        restarted = self._ctl("restart", "-w", "-m", mode, "-t", "60", check=False)
        if restarted.returncode != 0:
            raise RuntimeError(self.failure("restart", restarted))

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis:
    """``redis-server`` on ``REDIS_PORT`` without persistence: a restart loses every message."""

    def __init__(self, base: Path) -> None:
        self.log = base / "redis.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(  # noqa: S603
            [
                server,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.log),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=20, message="private redis to answer")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=REDIS_PORT, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def service_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every subprocess: private services, short leases, production mode."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_")) and key not in {"CHAOS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=DATABASE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CACHE_URL=CACHE_URL,
        TOUCHSTONE_VAR_DIR=str(var_dir),
        SIGNING_KEY_PATH=str(var_dir / "signing_key.pem"),
        DEBUG="0",
        SECRET_KEY="chaos-" + "k" * 60,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        OUTBOX_LEASE_SECONDS="5",
        OUTBOX_RELAY_SECONDS="1",
        SWEEP_INTERVAL_SECONDS="2",
        SWEEP_BATCH_SIZE="10",
        DELIVERY_BACKOFF_SECONDS="1",
        DELIVERY_BACKOFF_MAX_SECONDS="2",
        DELIVERY_TIMEOUT_SECONDS="10",
        WEBHOOK_ALLOW_HTTP="1",  # the receiver is plain http on 127.0.0.1
        AUTHORITY_THROTTLE_RATE="100000/min",
        CELERY_SKIP_CHECKS="1",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Processes:
    """Subprocesses started by one test, each in its own session; all killed at teardown."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.env = env
        self.started: list[subprocess.Popen] = []
        self.count = Counter()

    def _spawn(self, kind: str, cmd: list[str]) -> subprocess.Popen:
        self.count[kind] += 1
        log = open(self.base / f"{kind}-{self.count[kind]}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(  # noqa: S603
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.started.append(process)
        return process

    def worker(self) -> subprocess.Popen:
        """One Celery worker, solo pool: the process that runs the task is the one killed."""
        n = self.count["worker"] + 1
        return self._spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "config", "worker", "--pool=solo",
             "--loglevel=INFO", "-n", f"chaos{n}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
        )  # fmt: skip

    def beat(self) -> subprocess.Popen:
        n = self.count["beat"] + 1
        return self._spawn(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
             "-s", str(self.base / f"beat-schedule-{n}")],
        )  # fmt: skip

    def web(self) -> str:
        """gunicorn, threaded, on a free port; returns its base URL once /healthz answers."""
        port = free_port()
        process = self._spawn(
            "web",
            [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{port}",
             "-w", "3", "-k", "gthread", "--threads", "8", "--timeout", "60",
             "--graceful-timeout", "5"],
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {process.returncode}")
            return _answers(f"{base}/healthz")

        wait_for(up, timeout=60, message="gunicorn to answer")
        return base

    def kill9(self, process: subprocess.Popen) -> None:
        """SIGKILL: no shutdown, no ack, no cleanup; the task in hand dies mid-flight."""
        self.count["kill -9"] += 1
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        self.started.clear()


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


class Receiver:
    """A push authority's endpoint: accepts each Idempotency-Key once, counts every POST.

    Like a real receiver it checks the HMAC signature and treats a repeated key as a replay (200,
    nothing done twice). ``delay`` holds each request that long before answering, so that a
    worker can be killed while it waits mid-delivery.
    """

    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self.accepted: dict[str, dict] = {}
        self.bad_signatures = 0
        self.in_flight = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key", "")
                timestamp = self.headers.get("X-Touchstone-Timestamp", "")
                mac = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + body,
                               hashlib.sha256)  # fmt: skip
                with receiver.lock:
                    receiver.posts[key] += 1
                    if self.headers.get("X-Touchstone-Signature") != "sha256=" + mac.hexdigest():
                        receiver.bad_signatures += 1
                    elif key not in receiver.accepted:
                        receiver.accepted[key] = json.loads(body)
                    receiver.in_flight += 1
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender was killed while it waited
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/touchstone"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
