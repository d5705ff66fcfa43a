"""The private stack itself, checked in ``make test``: its ports and how it says why it failed."""

import subprocess
from pathlib import Path

import pytest

from tests.chaos import stack


def test_the_default_ports_lie_outside_the_usual_ephemeral_ranges() -> None:
    # An outgoing connection may hold any port in that range when the server binds (CI saw
    # "pg_ctl: could not start server" on 55432 right after the main suite's connections).
    # Linux's default range and IANA's dynamic ports (BSD, Windows) together: 32768-65535.
    for port in (stack.DEFAULT_PG_PORT, stack.DEFAULT_REDIS_PORT):
        assert 1024 <= port < 32768


def test_a_port_in_this_machines_ephemeral_range_is_warned_of(capsys) -> None:
    ephemeral = stack.ephemeral_ports()
    stack.warn_if_ephemeral({"CHAOS_PG_PORT": ephemeral.start, "CHAOS_REDIS_PORT": 1024})
    said = capsys.readouterr().out
    assert f"CHAOS_PG_PORT={ephemeral.start}" in said
    assert "CHAOS_REDIS_PORT" not in said


def test_a_failed_start_carries_the_server_log(tmp_path: Path) -> None:
    postgres = stack.PrivatePostgres()
    try:
        postgres.log = tmp_path / "postgres.log"
        postgres.log.write_text(
            "LOG:  starting PostgreSQL\n"
            'FATAL:  could not create lock file "postmaster.pid": No space left on device\n'
        )
        result = subprocess.CompletedProcess(
            ["pg_ctl"], 1, stdout="", stderr="pg_ctl: could not start server\n"
        )
        message = postgres.failure("start", result)
    finally:
        postgres.base.rmdir()
    assert f"port {stack.PG_PORT}" in message
    assert "pg_ctl: could not start server" in message
    assert "No space left on device" in message


def test_a_missing_log_is_said_not_raised(tmp_path: Path) -> None:
    postgres = stack.PrivatePostgres()
    postgres.base.rmdir()
    postgres.log = tmp_path / "absent.log"
    message = postgres.failure("restart", subprocess.CompletedProcess([], 1, "", ""))
    assert "no server log" in message


@pytest.mark.parametrize("text", ["", "garbage", "1 2 3"])
def test_an_unreadable_port_range_falls_back_to_linuxs_default(monkeypatch, text) -> None:
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: text)
    assert stack.ephemeral_ports() == range(32768, 61000)
