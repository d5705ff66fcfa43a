#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter (Django 6 needs it), or fail.
#
# Order: $PYTHON if set, then python3.13 / python3.12 / python3 on PATH, then pyenv's
# versions, then the usual system locations. A candidate counts only if it actually runs and
# reports 3.12 or newer: pyenv shims exist on PATH but fail without pyenv configuration.
set -euo pipefail

usable() {
    "$1" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1
}

if [[ -n "${PYTHON:-}" ]]; then
    if usable "$PYTHON"; then
        command -v "$PYTHON"
        exit 0
    fi
    echo "PYTHON=$PYTHON is not a working Python >= 3.12" >&2
    exit 1
fi

candidates=(python3.13 python3.12 python3)
shopt -s nullglob
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]* "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.[2-9][0-9]*; do
    candidates+=("$dir/bin/python3")
done
candidates+=(/usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12)

for candidate in "${candidates[@]}"; do
    if usable "$candidate"; then
        command -v "$candidate"
        exit 0
    fi
done

echo "No Python >= 3.12 found; install one or run with PYTHON=/path/to/python3.12" >&2
exit 1
