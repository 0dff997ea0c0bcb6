#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian packages, the offline test image), then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
command -v kubectl >/dev/null || { echo "kubectl (v1.32) must be on the PATH" >&2; exit 1; }
bash scripts/host_tools.sh
bash scripts/build_images.sh
python3 -m ruff check boxk8s tests scripts
# The layering contract (pyproject.toml). Called through python3: a console script installed by
# `python3 -m pip` may not be on the PATH yet (pyenv shims need a rehash).
python3 -c "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())" | tail -n 3
exec python3 -m pytest -q -p no:cacheprovider "$@"
