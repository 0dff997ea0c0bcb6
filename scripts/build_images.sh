#!/usr/bin/env bash
# Build the offline test image boxk8s-busybox:latest from Debian's static busybox (no registry needed).
# Idempotent and fast: does nothing when the image already holds the same busybox binary.
set -euo pipefail
IMAGE=${BOXK8S_TEST_IMAGE:-boxk8s-busybox:latest}
BUSYBOX=/bin/busybox
if ! [ -x "$BUSYBOX" ] || ! "$BUSYBOX" --list >/dev/null 2>&1 || ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "installing busybox-static" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq busybox-static >/dev/null
fi
sum=$(sha256sum "$BUSYBOX" | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "boxk8s.busybox"}}' "$IMAGE" 2>/dev/null || true)" = "$sum" ]; then
  exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$BUSYBOX" "$ctx/busybox"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL boxk8s.busybox=$sum
ENV PATH=/bin
CMD ["sh"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" >/dev/null
echo "built $IMAGE" >&2
