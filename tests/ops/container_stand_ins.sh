#!/usr/bin/env bash
# Stand-in base images for tests/ops/test_container.py on a machine with podman
# but no container registry (docker.io unreachable), made from Debian's own
# packages with debootstrap:
#
#   localhost/gxcpool-stand-in/python:3.11-slim-bookworm   Debian 12 minbase + python3 (3.11)
#   localhost/gxcpool-stand-in/python:3.11-bookworm        ... + venv, pip, gcc, the Python headers
#
# They have the shape the Dockerfile relies on in python:3.11-bookworm and
# python:3.11-slim-bookworm (python3 on PATH, the same interpreter path in both
# stages, groupadd/useradd), not their contents: Debian's Python 3.11.2 instead
# of python.org's build.  The test uses them only when the real images cannot be
# had, and says so.  Needs root, debootstrap and Debian's mirror; a few minutes.
#
#   tests/ops/container_stand_ins.sh [--engine podman|docker] [TAG ...]   (default: both tags)
set -euo pipefail

engine=podman
if [ "${1:-}" = --engine ]; then engine=$2; shift 2; fi
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(3.11-slim-bookworm 3.11-bookworm)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
repo=localhost/gxcpool-stand-in/python
work=$(mktemp -d /tmp/gxcpool-stand-in.XXXXXX)
trap 'rm -rf "$work"' EXIT

make_image() {   # tag, packages
  local tag=$1 packages=$2 root="$work/$1"
  echo "== $repo:$tag (debootstrap bookworm: $packages)"
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" \
    >"$work/$tag.log" 2>&1 || { tail -20 "$work/$tag.log"; exit 1; }
  # this host's own extra CAs (an intercepting proxy's), so pip in the build
  # reaches PyPI through the same proxy the host uses
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  # python:3.11-* images run python3 from PATH and use a UTF-8 locale
  tar -C "$root" -c . | "$engine" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$repo:$tag"
}

# python3 (not only python3.11): the virtualenv links to /usr/bin/python3
declare -A packages=(
  [3.11-slim-bookworm]=python3,python3.11,ca-certificates
  [3.11-bookworm]=python3,python3.11,python3-venv,python3-pip,python3.11-dev,gcc,libc6-dev,ca-certificates
)
for tag in "${tags[@]}"; do make_image "$tag" "${packages[$tag]}"; done
"$engine" images "$repo"
