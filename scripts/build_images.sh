#!/usr/bin/env bash
# Build the offline test images (no registry needed):
# - boxk8s-busybox:latest from Debian's static busybox;
# - boxk8s-kubectl:latest, FROM scratch with only the host's static kubectl (pods that talk to the
#   API with their in-cluster config);
# - boxk8s-webhook:latest, FROM scratch with static busybox and Debian's socat with the shared
#   libraries ldd names for it (a TLS server for admission webhooks served by pods: busybox has none).
# Idempotent and fast: an image already holding the same binary is not built again.
set -euo pipefail
IMAGE=${BOXK8S_TEST_IMAGE:-boxk8s-busybox:latest}
KUBECTL_IMAGE=${BOXK8S_KUBECTL_IMAGE:-boxk8s-kubectl:latest}
WEBHOOK_IMAGE=${BOXK8S_WEBHOOK_IMAGE:-boxk8s-webhook:latest}
BUSYBOX=/bin/busybox
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

labelled() {  # IMAGE LABEL VALUE: the image exists and carries LABEL=VALUE
  [ "$(docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true)" = "$3" ]
}

if ! [ -x "$BUSYBOX" ] || ! "$BUSYBOX" --list >/dev/null 2>&1 || ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "installing busybox-static" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq busybox-static >/dev/null
fi
sum=$(sha256sum "$BUSYBOX" | cut -c1-16)
if ! labelled "$IMAGE" boxk8s.busybox "$sum"; then
  mkdir "$tmp/busybox"
  cp "$BUSYBOX" "$tmp/busybox/busybox"
  cat > "$tmp/busybox/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL boxk8s.busybox=$sum
ENV PATH=/bin
CMD ["sh"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$tmp/busybox" >/dev/null
  echo "built $IMAGE" >&2
fi

# socat (scripts/host_tools.sh installs it) with its libraries and the dynamic loader, at their paths.
if socat_bin=$(command -v socat); then
  wsum=$( { sha256sum "$BUSYBOX" "$socat_bin"; ldd "$socat_bin"; } | sha256sum | cut -c1-16)
  if ! labelled "$WEBHOOK_IMAGE" boxk8s.webhook "$wsum"; then
    root="$tmp/webhook/root"
    mkdir -p "$root/bin"
    cp "$BUSYBOX" "$root/bin/busybox"
    cp "$socat_bin" "$root/bin/socat"
    for lib in $(ldd "$socat_bin" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
    cat > "$tmp/webhook/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL boxk8s.webhook=$wsum
ENV PATH=/bin
CMD ["sh"]
DOCKERFILE
    DOCKER_BUILDKIT=0 docker build -q -t "$WEBHOOK_IMAGE" "$tmp/webhook" >/dev/null
    echo "built $WEBHOOK_IMAGE" >&2
  fi
else
  echo "no socat found (scripts/host_tools.sh installs it): $WEBHOOK_IMAGE not built" >&2
fi

# kubectl: gcloud's dispatcher on PATH runs a versioned sibling (kubectl.1.32): take that one, else
# the kubectl on PATH, if it is static (a scratch image has no libc).
kubectl_bin=""
if found=$(command -v kubectl); then
  real=$(readlink -f "$found")
  for candidate in "$(dirname "$real")/kubectl.1.32" "$real"; do
    if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then kubectl_bin=$candidate; break; fi
  done
fi
if [ -z "$kubectl_bin" ]; then
  echo "no static kubectl found: $KUBECTL_IMAGE not built" >&2
  exit 0
fi
ksum=$(sha256sum "$kubectl_bin" | cut -c1-16)
if ! labelled "$KUBECTL_IMAGE" boxk8s.kubectl "$ksum"; then
  mkdir "$tmp/kubectl"
  cp "$kubectl_bin" "$tmp/kubectl/kubectl"
  cat > "$tmp/kubectl/Dockerfile" <<DOCKERFILE
FROM scratch
COPY kubectl /kubectl
LABEL boxk8s.kubectl=$ksum
ENTRYPOINT ["/kubectl"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$KUBECTL_IMAGE" "$tmp/kubectl" >/dev/null
  echo "built $KUBECTL_IMAGE" >&2
fi
