#!/usr/bin/env bash
# Installs the system packages pushguard needs to build and test (Debian/Ubuntu).
# Idempotent and quick when everything is there already.
#   git, openssh-client, gnupg, gpgsm, openssl: the tests make real keys, certificates,
#     signatures and pushes (gpgsm and openssl for X.509 signatures)
#   libssl-dev, pkg-config, clang, libclang-dev: sequoia-openpgp's OpenSSL backend (bindgen)
#   g++: libFuzzer, built by the fuzz targets (fuzz/, bench/fuzz.sh)
set -euo pipefail
packages=(git openssh-client gnupg gpgsm openssl libssl-dev pkg-config clang libclang-dev g++)
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
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
