"""Run one command and report its wall time and peak RSS (``python -m bench.rss -- CMD ...``).

A wrapper process of its own, so that ``RUSAGE_CHILDREN`` holds this one child only and not
the gunicorns or other commands the bench ran before.
"""

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    command = sys.argv[sys.argv.index("--") + 1 :]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "max_rss_kb": usage.ru_maxrss,  # kilobytes on Linux
                "returncode": done.returncode,
                "stdout": done.stdout[-2000:],
                "stderr": done.stderr[-2000:],
            }
        )
    )


if __name__ == "__main__":
    main()
