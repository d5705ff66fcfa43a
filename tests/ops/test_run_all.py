"""scripts/run_all.sh, what `make run` ends with: web, worker and beat on SQLite and the
file-system broker, on the port asked for, all stopped together."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
RUN_ALL = ROOT / "scripts" / "run_all.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def laptop_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a newcomer's `make run`: no DATABASE_URL or broker set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL"}
        and not key.startswith("PYTEST")
    }
    return {**env, "TOUCHSTONE_VAR_DIR": str(tmp_path), "VENV": str(VENV), "PORT": str(port)}


def test_a_taken_port_is_refused_with_a_hint_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = subprocess.run(  # noqa: S603 - the project's own script
            [str(RUN_ALL)],
            cwd=ROOT,
            env=laptop_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "PORT=8001 make run" in result.stderr
    assert "started web" not in result.stdout


@pytest.mark.timeout(180)
def test_web_worker_and_beat_serve_on_the_port_asked_for_and_stop_together(tmp_path):
    port = free_port()
    env = laptop_env(tmp_path, port)
    python = str(VENV / "bin" / "python")
    subprocess.run(  # noqa: S603 - our own interpreter
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(  # noqa: S603 - the project's own script
        [str(RUN_ALL)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        health = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert health is not None, (tmp_path / "run.log").read_text()[-3000:]
        assert health["database"] == "ok"
        assert health["broker"] == "ok"
        output = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{port}/portal/" in output
    finally:
        run.send_signal(signal.SIGTERM)
        status = run.wait(timeout=60)
        log.close()

    assert status == 143
    output = (tmp_path / "run.log").read_text()
    assert "stopping web, worker and beat" in output
    # Nothing is left listening on the port (connections in TIME_WAIT do not count).
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
