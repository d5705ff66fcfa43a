"""``make bench``: Touchstone measured side by side with the fastest baseline on the same machine.

Run ``python -m bench.run --scale small`` (or ``make bench SCALE=small``); see docs/performance.md.
Nothing here is imported by the application: the baseline views are mounted only by
``bench.settings`` / ``bench.urls``, which the bench's own gunicorn uses.
"""
