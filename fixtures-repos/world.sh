# The pinned, isolated world every test and benchmark runs git in: one definition for the
# fixture scripts (lib.sh), the Rust end-to-end tests (tests/e2e/harness.rs) and the benchmark
# scripts (bench/lib.sh, bench/verify.sh).
#
#   WORLD=/tmp/x; . fixtures-repos/world.sh      # pin this shell (HOME etc. under $WORLD)
#   bash fixtures-repos/world.sh env /tmp/x      # print the pinned variables as NAME=VALUE
#
# Pinned: HOME, XDG_CONFIG_HOME, GNUPGHOME and the global git config under $WORLD; no system git
# config; LC_ALL=C; TZ=UTC; no GIT_* variable inherited from the caller (GIT_DIR, a quarantine,
# GIT_CONFIG_PARAMETERS...). The global config names a robot, defaults to branch main, allows
# file:// submodules and never runs gc on its own. Dates are the caller's (lib.sh ticks a
# minute per commit from 2025-01-01).

pinned_world_vars() {
    local world=$1
    printf '%s\n' \
        "HOME=$world/home" \
        "XDG_CONFIG_HOME=$world/home/.config" \
        "GNUPGHOME=$world/gnupg" \
        "GIT_CONFIG_NOSYSTEM=1" \
        "GIT_CONFIG_GLOBAL=$world/home/.gitconfig" \
        "LC_ALL=C" \
        "TZ=UTC"
}

pinned_world_setup() {
    local world=$1
    mkdir -p "$world/home/.config" "$world/gnupg"
    chmod 700 "$world/gnupg"
    if [ ! -f "$world/home/.gitconfig" ]; then
        cat >"$world/home/.gitconfig" <<'CFG'
[user]
	name = Fixture Robot
	email = robot@example.org
[init]
	defaultBranch = main
[advice]
	detachedHead = false
[protocol "file"]
	allow = always
[gc]
	auto = 0
CFG
    fi
}

if [ "${1:-}" = env ] && [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Run, not sourced: print the variables (and make the directories they name).
    set -eu -o pipefail
    world=${2:?usage: world.sh env WORLD}
    pinned_world_setup "$world"
    pinned_world_vars "$world"
    exit 0
fi

: "${WORLD:?WORLD must name the world directory}"
while IFS= read -r _pinned_var; do unset "$_pinned_var"; done \
    < <(env | sed -n 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p')
unset _pinned_var
while IFS= read -r _pinned_line; do export "${_pinned_line?}"; done \
    < <(pinned_world_vars "$WORLD")
unset _pinned_line
pinned_world_setup "$WORLD"
