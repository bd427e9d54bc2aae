# Shared by the fixture scripts: a pinned, isolated git world.
# Source it; it never touches the caller's real git or gpg configuration.
set -eu -o pipefail

# Everything lives under $WORLD (the caller's temp dir).
: "${WORLD:?WORLD must name the fixture world directory}"
export HOME="$WORLD/home"
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig"
export GNUPGHOME="$WORLD/gnupg"
export LC_ALL=C TZ=UTC
unset GIT_DIR GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES 2>/dev/null || true
mkdir -p "$HOME" "$GNUPGHOME"
chmod 700 "$GNUPGHOME"

if [ ! -f "$GIT_CONFIG_GLOBAL" ]; then
  git config --global init.defaultBranch main
  git config --global user.name "Fixture Robot"
  git config --global user.email "robot@example.org"
  git config --global advice.detachedHead false
  git config --global protocol.file.allow always
fi

# Pinned dates: start at 2025-01-01 and advance one minute per `tick`.
: "${FIXTURE_TIME:=1735689600}"
tick() {
  FIXTURE_TIME=$((FIXTURE_TIME + 60))
  export GIT_AUTHOR_DATE="@$FIXTURE_TIME +0000" GIT_COMMITTER_DATE="@$FIXTURE_TIME +0000"
}
tick
