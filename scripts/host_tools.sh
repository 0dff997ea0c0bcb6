#!/usr/bin/env bash
# What boxk8s takes from the host, installed when missing (Debian/Ubuntu): nft and ip, of which the
# cluster's network agent image is made (boxk8s/kubelet/runtime/netagent_image.py); socat, of which
# the tests' webhook image is made (scripts/build_images.sh).
set -euo pipefail
if ! { command -v nft || [ -x /usr/sbin/nft ]; } >/dev/null || ! { command -v ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; } >/dev/null; then
  echo "installing nftables and iproute2" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nftables iproute2 >/dev/null
fi
if ! command -v socat >/dev/null; then
  echo "installing socat" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq socat >/dev/null
fi
