"""A gunicorn on loopback and a concurrent HTTP client (threads + http.client) to load it."""

import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn(env: dict[str, str], *, port: int, workers: int) -> Iterator[str]:
    """Serve ``bench.wsgi`` on 127.0.0.1:port while the block runs; yield the host:port."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "2",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "--backlog",
        "256",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                # Any answer (a 404 here) means a worker is serving.
                connection.request("GET", "/bench/ready/", headers={"Host": "localhost"})
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield address
    finally:
        # Our own process group only (start_new_session): the master and its workers.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


# A request maker: given the thread's number and its state, say what to send next.
Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def run_load(
    address: str,
    make_request: Callable[[int, dict], Request],
    *,
    threads: int,
    seconds: float,
    max_requests: int,
    on_response: Callable[[int, dict, int, bytes], None] | None = None,
    expect: tuple[int, ...] = (200,),
) -> LoadResult:
    """``threads`` clients, each on its own keep-alive connection, until the time or count runs out.

    ``make_request(thread, state)`` returns the next request; ``on_response`` may update the
    thread's state from the answer (e.g. follow a ``next`` cursor).
    """
    host, port = address.split(":")
    result = LoadResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    budget = [max_requests]

    def take() -> bool:
        with lock:
            if budget[0] <= 0 or time.monotonic() >= stop_at:
                return False
            budget[0] -= 1
            return True

    def worker(number: int) -> None:
        state: dict = {}
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        while take():
            method, path, body, headers = make_request(number, state)
            started = time.perf_counter()
            try:
                connection.request(
                    method, path, body=body, headers={"Host": "localhost", **headers}
                )
                response = connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.status not in expect:
                errors += 1
            elif on_response is not None:
                on_response(number, state, response.status, payload)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            for code, n in statuses.items():
                result.statuses[code] = result.statuses.get(code, 0) + n

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    result.seconds = time.perf_counter() - started
    result.requests = len(result.latencies)
    return result


def merge(results: list[LoadResult]) -> LoadResult:
    """Several runs as one: requests, errors, latencies and statuses added, seconds summed."""
    merged = LoadResult()
    for part in results:
        merged.errors += part.errors
        merged.seconds += part.seconds
        merged.latencies.extend(part.latencies)
        for code, n in part.statuses.items():
            merged.statuses[code] = merged.statuses.get(code, 0) + n
    merged.requests = len(merged.latencies)
    return merged


def run_alternating(
    address: str,
    ours: dict,
    baseline: dict,
    *,
    rounds: int,
    seconds: float,
    max_requests: int,
    **common: object,
) -> tuple[LoadResult, LoadResult]:
    """Ours and the baseline in alternating slices (``rounds`` each, ``seconds`` in all per side).

    The machine's load drifts (other work, the page cache, autovacuum): side by side in short
    slices, both see the same drift; one after the other, a busy minute lands on one side only.
    ``ours`` and ``baseline`` are the keyword arguments of ``run_load`` that differ (the request
    maker and ``on_response``).
    """
    mine: list[LoadResult] = []
    theirs: list[LoadResult] = []
    for _ in range(rounds):
        for side, into in ((ours, mine), (baseline, theirs)):
            part = run_load(
                address,
                **side,
                seconds=seconds / rounds,
                max_requests=max(1, max_requests // rounds),
                **common,
            )
            into.append(part)
    return merge(mine), merge(theirs)
