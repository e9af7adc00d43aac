#!/usr/bin/env bash
# Build the shop's image with podman, daemonless, from Debian's packages alone (no registry):
#   deploy/podman/build-image.sh IMAGE
# The base image (plain Debian bookworm with python3 and python3-venv) is made with mmdebstrap
# and imported once; later builds reuse it and podman's layer cache. Needs root,
# apt-get install podman runc mmdebstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:?usage: $0 IMAGE}
base=${BASE_IMAGE:-localhost/shop-base:bookworm}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}

if ! podman image exists "$base"; then
  echo "making the base image $base with mmdebstrap"
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' EXIT
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,python3,python3-venv \
    bookworm "$workdir/base.tar"
  podman import --quiet "$workdir/base.tar" "$base" >/dev/null
fi

# Host network and the host's CA bundle: pip reaches the package index as the host does.
podman build --quiet --format docker --network host --build-arg BASE_IMAGE="$base" \
  --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  --tag "$image" . >/dev/null
echo "built $image on $base"
