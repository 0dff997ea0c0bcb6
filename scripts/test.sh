#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian packages, the offline test image), then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
command -v kubectl >/dev/null || { echo "kubectl (v1.32) must be on the PATH" >&2; exit 1; }
bash scripts/build_images.sh
python3 -m ruff check boxk8s tests scripts
lint-imports >/dev/null || lint-imports
exec python3 -m pytest -q -p no:cacheprovider "$@"
