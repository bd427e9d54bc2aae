#!/usr/bin/env bash
# What one large push costs the daemon (issue 10, item 10): a push of COMMITS new commits to
# BRANCHES new branches at once, under the embedded default policy (secret scanning on every ref)
# or POLICY. Not a test: it prints numbers.
#
#   COMMITS=30000 BRANCHES=40 bench/big-push.sh
#
# Prints the daemon's peak memory (VmHWM) before and after the push, the push's wall time and
# outcome, and the CPU the daemon spent after the hook had its answer (a judgement that outlives
# its deadline keeps a core busy for nothing). Environment: COMMITS (30000), BRANCHES (40),
# TIMEOUT (seconds the policy gives a verdict: 10), POLICY (a policy file instead of the default
# one; TIMEOUT is then the file's business), PUSHGUARD_BIN (see bench/lib.sh), KEEP_WORK.
set -euo pipefail

COMMITS=${COMMITS:-30000}
BRANCHES=${BRANCHES:-40}
TIMEOUT=${TIMEOUT:-10}

. "$(dirname "$0")/lib.sh"

pin_world

say "building a client with $COMMITS commits (git fast-import)..."
git init -q --bare "$WORK/guarded/bench.git"
git init -q "$WORK/client"
awk -v n="$COMMITS" -v t0="$EPOCH" 'BEGIN {
    for (i = 1; i <= n; i++) {
        t = t0 + 60 * i
        printf "commit refs/heads/main\nmark :%d\n", i
        printf "committer Alice Maintainer <alice@example.org> %d +0000\n", t
        msg = sprintf("Change %d\n", i)
        printf "data %d\n%s\n", length(msg), msg
        if (i > 1) printf "from :%d\n", i - 1
        content = sprintf("revision %d\n", i)
        printf "M 100644 inline file%d.txt\ndata %d\n%s\n", i % 100, length(content), content
    }
}' | git -C "$WORK/client" fast-import --quiet
mkdir -p "$WORK/plain"

if [ -z "${POLICY:-}" ]; then
    POLICY="$WORK/policy.yaml"
    { echo "version: 1"; echo "settings: {timeout_seconds: $TIMEOUT}";
      "$PUSHGUARD_BIN" policy default | sed -n '/^rulesets:/,$p'; } >"$POLICY"
fi
start_daemon --policy "$POLICY"

vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
hz=$(getconf CLK_TCK)

say "daemon before: VmHWM $(vm VmHWM) kB, VmRSS $(vm VmRSS) kB"
hwm_before=$(vm VmHWM)
specs=()
for b in $(seq "$BRANCHES"); do specs+=("main:refs/heads/topic-$b"); done
t0=$(ms_now)
if git -C "$WORK/client" push -q "$WORK/guarded/bench.git" "${specs[@]}" 2>"$WORK/push.err"; then
    outcome=accepted
else
    outcome=rejected
fi
t1=$(ms_now)
ticks_at_answer=$(cpu_ticks)
sleep 5
ticks_after=$(cpu_ticks)
printf 'big-push commits=%s branches=%s outcome=%s push_ms=%d hwm_before_kb=%s hwm_after_kb=%s rss_after_kb=%s daemon_cpu_ms_after_answer=%d\n' \
    "$COMMITS" "$BRANCHES" "$outcome" $(((t1 - t0) / 1000000)) "$hwm_before" "$(vm VmHWM)" \
    "$(vm VmRSS)" $(((ticks_after - ticks_at_answer) * 1000 / hz))
grep -m3 'pushguard' "$WORK/push.err" >&2 || true
