#!/usr/bin/env bash
# Install boxk8s (and what it needs) from this checkout, then run the cluster: `scripts/up.sh [boxk8s up flags]`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e .
bash scripts/host_tools.sh
bash scripts/build_images.sh  # the offline busybox image the example app in manifests/ runs on
exec python3 -m boxk8s.cli up "$@"
