#!/usr/bin/env bash
# Regenerates the golden approval envelopes in this directory.
#
# TEST-ONLY KEYS. test-only-alice and test-only-stranger are throwaway ed25519 keys made for
# these vectors; their private halves are committed on purpose. Never trust them anywhere.
#
# The keys are made once (only when missing) so the vectors stay stable: ed25519 signatures are
# deterministic, so running this again rewrites identical files. `--new-keys` makes new keys.
#
# Everything here (statement JSON, DSSE PAE, envelope) is built with printf/base64, apart from
# the Rust code, so the tests also check the Rust encoder against an independent one.
set -eu -o pipefail
cd "$(dirname "$0")"
export LC_ALL=C

if [ "${1:-}" = "--new-keys" ]; then
  rm -f test-only-alice test-only-alice.pub test-only-stranger test-only-stranger.pub
fi
for k in alice stranger; do
  if [ ! -f "test-only-$k" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "TEST-ONLY $k (pushguard approval vectors)" -f "test-only-$k"
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

TYPE='application/vnd.in-toto+json'
REF='refs/heads/main'
FROM='8a3f5c1e9b7d2046e1c8a9f03b5d7e2c4a6f8b10'
TREE='9c1e7f3a5b2d4068e0a1c3b5d7f9e2a4c6b8d0f1'
HEAD='d2e4f6a8b0c1e3f5a7b9d1c3e5f7a9b1c3d5e7f9'
PATCH='5e0d7c2b9a8f1e3d6c4b2a0918f7e6d5c4b3a291'
POLICY='sha256:3b7f1c2e9d8a6f5e4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c'
ISSUED='2026-01-01T00:00:00Z'
EXPIRES='2026-01-08T00:00:00Z'

# statement REF FROM TREE HEAD VERDICT ISSUED EXPIRES NONCE
statement() {
  printf '{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"gitTree":"%s","gitCommit":"%s"}}],"predicateType":"https://pushguard.dev/code-review-approval/v1","predicate":{"targetRef":"%s","fromID":"%s","targetID":"%s","reviewedRange":"%s..%s","patchID":"%s","verdict":"%s","reviewer":"alice","policyDigest":"%s","issuedAt":"%s","expiresAt":"%s","nonce":"%s"}}' \
    "$3" "$4" "$1" "$2" "$3" "$2" "$4" "$PATCH" "$5" "$POLICY" "$6" "$7" "$8"
}

# envelope OUT PAYLOAD_FILE KEY NAMESPACE [PAYLOAD_TYPE]: signs the PAE, writes the envelope.
envelope() {
  local out=$1 payload=$2 key=$3 ns=$4 type=${5:-$TYPE}
  { printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(wc -c <"$payload")"; cat "$payload"; } >"$tmp/pae"
  rm -f "$tmp/pae.sig"
  ssh-keygen -q -Y sign -n "$ns" -f "test-only-$key" "$tmp/pae" 2>/dev/null
  printf '{"payload":"%s","payloadType":"%s","signatures":[{"keyid":"%s","sig":"%s"}]}\n' \
    "$(base64 -w0 <"$payload")" "$type" \
    "$(ssh-keygen -l -E sha256 -f "test-only-$key.pub" | cut -d' ' -f2)" \
    "$(base64 -w0 <"$tmp/pae.sig")" >"$out"
}

N=0
nonce() { N=$((N + 1)); printf 'golden-vector-nonce-%02d' "$N"; }

statement "$REF" "$FROM" "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/approve"
envelope approve.dsse.json "$tmp/approve" alice pushguard-approval

statement "$REF" "$FROM" "$TREE" "$HEAD" reject "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/reject"
envelope reject.dsse.json "$tmp/reject" alice pushguard-approval

statement "$REF" "$FROM" "$TREE" "$HEAD" revoke "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/revoke"
envelope revoke.dsse.json "$tmp/revoke" alice pushguard-approval

statement refs/heads/release "$FROM" "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope wrong-ref.dsse.json "$tmp/p" alice pushguard-approval

statement "$REF" 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope wrong-base.dsse.json "$tmp/p" alice pushguard-approval

statement "$REF" "$FROM" 7a6b5c4d3e2f10213243546576879809a1b2c3d4 "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope wrong-tree.dsse.json "$tmp/p" alice pushguard-approval

statement "$REF" "$FROM" "$TREE" "$HEAD" approve 2025-12-01T00:00:00Z 2025-12-08T00:00:00Z "$(nonce)" >"$tmp/p"
envelope expired.dsse.json "$tmp/p" alice pushguard-approval

# A valid envelope whose payload has a character outside base64.
sed 's/"payload":"e/"payload":"*/' approve.dsse.json >bad-base64.dsse.json
grep -q '"payload":"\*' bad-base64.dsse.json

statement "$REF" "$FROM" "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope wrong-payload-type.dsse.json "$tmp/p" alice pushguard-approval application/json

statement "$REF" "$FROM" "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope namespace-git.dsse.json "$tmp/p" alice git

statement "$REF" "$FROM" "$TREE" "$HEAD" approve "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope unknown-key.dsse.json "$tmp/p" stranger pushguard-approval

# A signed reject whose payload was then swapped for an approve (signature unchanged).
statement "$REF" "$FROM" "$TREE" "$HEAD" reject "$ISSUED" "$EXPIRES" "$(nonce)" >"$tmp/p"
envelope "$tmp/signed-reject.json" "$tmp/p" alice pushguard-approval
sig=$(sed 's/.*"sig":"\([^"]*\)".*/\1/' "$tmp/signed-reject.json")
printf '{"payload":"%s","payloadType":"%s","signatures":[{"keyid":"","sig":"%s"}]}\n' \
  "$(base64 -w0 <"$tmp/approve")" "$TYPE" "$sig" >tampered-payload.dsse.json

# The PAE of approve.dsse.json, for the test of the Rust PAE encoder.
{ printf 'DSSEv1 %d %s %d ' "${#TYPE}" "$TYPE" "$(wc -c <"$tmp/approve")"; cat "$tmp/approve"; } >approve.pae
