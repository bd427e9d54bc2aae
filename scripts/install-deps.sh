#!/usr/bin/env bash
# Installs the system packages pushguard needs to build and test (Debian/Ubuntu).
# Idempotent and quick when everything is there already.
#   git, openssh-client, gnupg, gpgsm, openssl: the tests make real keys, certificates,
#     signatures and pushes (gpgsm and openssl for X.509 signatures)
#   libssl-dev, pkg-config, clang, libclang-dev: sequoia-openpgp's OpenSSL backend (bindgen)
#   g++: libFuzzer, built by the fuzz targets (fuzz/, bench/fuzz.sh)
#   openssh-server, gitolite3, nginx, fcgiwrap: the end-to-end tests against real git servers
#     (tests/e2e/servers.rs) start their own sshd, gitolite, and nginx with fcgiwrap and
#     git http-backend, on loopback, in a temp dir; the system services these packages bring
#     (sshd on port 22, nginx on port 80) are not started by the install (see policy-rc.d below)
set -euo pipefail
packages=(git openssh-client gnupg gpgsm openssl libssl-dev pkg-config clang libclang-dev g++
  openssh-server gitolite3 nginx fcgiwrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: run as root, or install: ${missing[*]}" >&2; exit 1
  fi
else
  SUDO=
fi
# Debian's switch to keep a package install from starting its service, unless the machine has
# one already (containers do): the tests start their own servers.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
