"""`make run` on SQLite: web, worker and beat write the same file from separate processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Read, then write, inside one transaction: what a service does (select_for_update is a no-op
# on SQLite, so the read takes only a shared lock). Two such processes at once used to fail with
# "database is locked" as soon as both held a read lock and wanted to write.
WRITER = """
import time
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
for _ in range(25):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM t")
            cursor.fetchone()
            time.sleep(0.01)
            cursor.execute("INSERT INTO t (n) VALUES (1)")
"""


@pytest.mark.timeout(120)
def test_two_processes_writing_the_sqlite_database_wait_for_each_other(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "TOUCHSTONE_VAR_DIR": str(tmp_path),
    }
    create = [sys.executable, "-c", WRITER.replace("range(25)", "range(0)")]
    subprocess.run(create, cwd=ROOT, env=env, check=True, timeout=60)  # noqa: S603

    writers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", WRITER],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors = [writer.communicate(timeout=90)[1] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0, 0], errors
    count = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.db import connection; "
            "c = connection.cursor(); c.execute('SELECT COUNT(*) FROM t'); print(c.fetchone()[0])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert count.stdout.strip() == "75"
