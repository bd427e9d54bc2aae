#!/usr/bin/env bash
# Make the test identities' keys in $WORLD/keys. TEST-ONLY keys: generated fresh for each test
# world, never committed, never to be used for anything else.
#   ssh:     alice, bob, mallory (ed25519), carol (ecdsa p256)
#   openpgp: alice (ed25519, via gpg), exported to keys/alice.asc; fingerprint in keys/alice.fpr
set -eu -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
keys="$WORLD/keys"
mkdir -p "$keys"
for who in alice bob mallory; do
  [ -f "$keys/$who" ] || ssh-keygen -q -t ed25519 -N '' -C "$who@test-only" -f "$keys/$who"
done
[ -f "$keys/carol" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C "carol@test-only" -f "$keys/carol"
if [ ! -f "$keys/alice.asc" ]; then
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "Alice (test only) <alice@example.org>" ed25519 sign never 2>/dev/null
  gpg --batch --with-colons --list-keys alice@example.org 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}' > "$keys/alice.fpr"
  gpg --batch --armor --export alice@example.org > "$keys/alice.asc"
fi
