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
