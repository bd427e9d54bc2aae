# Shared by the benchmark scripts (sourced, not run): finds or builds the pushguard binary,
# makes a private work directory, and stops the daemon (DAEMON_PID) and removes the directory
# on exit (KEEP_WORK keeps it).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PUSHGUARD_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p pushguard)
    PUSHGUARD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/pushguard"
fi
PUSHGUARD_BIN=$(cd "$(dirname "$PUSHGUARD_BIN")" && pwd)/$(basename "$PUSHGUARD_BIN")
[ -x "$PUSHGUARD_BIN" ] || { echo "$(basename "$0"): no pushguard binary at $PUSHGUARD_BIN" >&2; exit 2; }

say() { printf '%s\n' "$*" >&2; }
ms_now() { date +%s%N; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pushguard-bench.XXXXXX")
DAEMON_PID=
cleanup() {
    if [ -n "$DAEMON_PID" ]; then
        kill "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    if [ -n "${KEEP_WORK:-}" ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_daemon [SERVE-ARGS...]: `pushguard serve` over $WORK/guarded (socket and state in
# $WORK/state) and wait until it has installed its hook into guarded/bench.git; the copy in
# $WORK/plain must stay without hooks.
start_daemon() {
    SOCK="$WORK/state/pushguard.sock"
    "$PUSHGUARD_BIN" serve --repos "$WORK/guarded" "$@" \
        --socket "$SOCK" --state-dir "$WORK/state" 2>"$WORK/daemon.log" &
    DAEMON_PID=$!
    local _
    for _ in $(seq 300); do
        if [ -S "$SOCK" ] && grep -qs pushguard-hook "$WORK/guarded/bench.git/hooks/pre-receive" &&
            [ "$(git --git-dir="$WORK/guarded/bench.git" config --get pushguard.socket || true)" = "$SOCK" ]; then
            break
        fi
        kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 2; }
        sleep 0.1
    done
    grep -qs pushguard-hook "$WORK/guarded/bench.git/hooks/pre-receive" ||
        { say "$(basename "$0"): the daemon did not install its hooks"; cat "$WORK/daemon.log" >&2; exit 2; }
    [ ! -e "$WORK/plain/bench.git/hooks/pre-receive" ] && [ ! -e "$WORK/plain/bench.git/hooks/update" ]
}

# pin_world: the pinned world of fixtures-repos/world.sh (the tests' own) under $WORK, with the
# benchmark's committer and pusher. History commit i is dated EPOCH + 60*i (commit_date i);
# timed commits continue from there.
pin_world() {
    WORLD="$WORK" . "$ROOT/fixtures-repos/world.sh"
    export GIT_AUTHOR_NAME="Alice Maintainer" GIT_AUTHOR_EMAIL=alice@example.org
    export GIT_COMMITTER_NAME="Alice Maintainer" GIT_COMMITTER_EMAIL=alice@example.org
    export PUSHGUARD_USER=alice
    unset SSH_AUTH_SOCK RUST_LOG
    git config --global user.name "Alice Maintainer"
    git config --global user.email alice@example.org
    EPOCH=1700000000
    commit_date() { echo "@$((EPOCH + 60 * $1)) +0000"; }
}

# build_main_history N: $WORK/base.git, a bare repository whose main has N commits (fast-import),
# each changing one file under src/, dated EPOCH + 60*i (commit_date i).
build_main_history() {
    git init -q --bare "$WORK/base.git"
    awk -v n="$1" -v t0="$EPOCH" 'BEGIN {
        for (i = 1; i <= n; i++) {
            t = t0 + 60 * i
            msg = sprintf("Change %d\n\nHistory commit %d of %d.\n", i, i, n)
            content = sprintf("revision %d\n", i)
            printf "commit refs/heads/main\nmark :%d\n", i
            printf "author Alice Maintainer <alice@example.org> %d +0000\n", t
            printf "committer Alice Maintainer <alice@example.org> %d +0000\n", t
            printf "data %d\n%s\n", length(msg), msg
            printf "M 100644 inline src/mod%03d/file%d.txt\ndata %d\n%s\n", i % 100, i % 997, length(content), content
        }
    }' | git --git-dir="$WORK/base.git" fast-import --quiet
}
