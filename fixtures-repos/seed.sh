#!/usr/bin/env bash
# seed.sh BARE CLIENT [sha1|sha256]
# A bare repository with a signed first commit on main (pushed before any hook exists),
# and a client clone of it. The first commit is signed by alice's SSH key.
set -eu -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bare=$1 client=$2 format=${3:-sha1}
git init -q --bare --object-format="$format" "$bare"
git init -q --object-format="$format" "$client"
cd "$client"
git config user.name Alice
git config user.email alice@example.org
git config gpg.format ssh
git config user.signingkey "$WORLD/keys/alice"
echo "# demo" > README.md
git add README.md
git commit -q -S -m "Initial commit"
git remote add origin "file://$bare"
git push -q origin main
