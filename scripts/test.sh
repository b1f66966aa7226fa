#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole suite.
# Extra arguments go to pytest (for example: bash scripts/test.sh -k refresh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The README walkthrough test drives curl and jq; install them where we may.
if [ "$(id -u)" = 0 ] && ! { command -v curl && command -v jq; } >/dev/null; then
    apt-get update -qq && apt-get install -y -qq curl jq >/dev/null
fi

# The browser tests drive Debian's chromium, never a browser Playwright downloads.
if [ "$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

exec .venv/bin/python -m pytest "$@"
