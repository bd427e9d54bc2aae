# Shared by the fixture scripts: the pinned world (world.sh) plus pinned dates.
# Source it; it never touches the caller's real git or gpg configuration.
set -eu -o pipefail

# Everything lives under $WORLD (the caller's temp dir).
: "${WORLD:?WORLD must name the fixture world directory}"
. "$(dirname "${BASH_SOURCE[0]}")/world.sh"

# Pinned dates: start at 2025-01-01 and advance one minute per `tick`.
: "${FIXTURE_TIME:=1735689600}"
tick() {
  FIXTURE_TIME=$((FIXTURE_TIME + 60))
  export GIT_AUTHOR_DATE="@$FIXTURE_TIME +0000" GIT_COMMITTER_DATE="@$FIXTURE_TIME +0000"
}
tick
