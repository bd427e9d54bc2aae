#!/usr/bin/env bash
# Latency of a push that pushguard scans for secrets (issue 4's push target). Not a test: it
# prints numbers.
#
# A bare repository (COMMITS commits of history, built with git fast-import) is copied twice:
# one copy is guarded by `pushguard serve` with the EMBEDDED DEFAULT POLICY (no --policy; it has a
# `secret_scanning` ruleset on every ref), the other has no hooks. Each run makes one commit that
# adds FILES new files of FILE_BYTES bytes each (default 20 x 5 KB = 100 KB) of real Rust source
# (slices of this repository's own daemon/rules/hooks sources, each file made unique, no secrets)
# and pushes it over file:// to both copies, alternating which goes first; each `git push` is
# timed wall-clock, and its CPU time is taken from the shell's `times`.
#
# Before timing, one push adding a freshly generated GitHub token (`ghp_`, valid CRC32/base62
# checksum) must be rejected by secret_scanning, and every timed push must be accepted and
# audited as allowed, so a broken hook cannot pass for a fast one.
#
#   bench/secret-push-latency.sh
#   RUNS=50 FILES=20 FILE_BYTES=5000 bench/secret-push-latency.sh
#
# Environment: COMMITS (default 2000), RUNS (30), WARMUP (3), FILES (20), FILE_BYTES (5000),
# KEEP_WORK (keep the temporary directory), PUSHGUARD_BIN (default: cargo build --release -p
# pushguard, then target/release/pushguard, honouring CARGO_TARGET_DIR; `pushguard-hook` must be
# beside it). Needs git, awk, python3 (only to make the test token).
set -euo pipefail

COMMITS=${COMMITS:-2000}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
FILES=${FILES:-20}
FILE_BYTES=${FILE_BYTES:-5000}
TARGET_P95_MS=50

. "$(dirname "$0")/lib.sh"

# The source text the pushes add: this repository's own Rust sources (not the secrets crate,
# whose rule examples are made to look like secrets), concatenated, read before HOME changes.
find "$ROOT/daemon/src" "$ROOT/rules/src" "$ROOT/hooks/src" -name '*.rs' -type f | sort |
    xargs cat >"$WORK/pool.rs"
POOL_BYTES=$(wc -c <"$WORK/pool.rs")
[ "$POOL_BYTES" -gt $((FILE_BYTES * 2)) ] || { say "secret-push-latency: source pool too small"; exit 2; }

pin_world

# --- The server repository. ---------------------------------------------------------------------
say "building a bare repository with $COMMITS commits (git fast-import)..."
git init -q --bare "$WORK/base.git"
awk -v n="$COMMITS" -v t0="$EPOCH" 'BEGIN {
    for (i = 1; i <= n; i++) {
        t = t0 + 60 * i
        msg = sprintf("Change %d\n", i)
        content = sprintf("revision %d\n", i)
        printf "commit refs/heads/main\nmark :%d\n", i
        printf "author Alice Maintainer <alice@example.org> %d +0000\n", t
        printf "committer Alice Maintainer <alice@example.org> %d +0000\n", t
        printf "data %d\n%s\n", length(msg), msg
        printf "M 100644 inline src/mod%03d/file%d.txt\ndata %d\n%s\n", i % 100, i % 997, length(content), content
    }
}' | git --git-dir="$WORK/base.git" fast-import --quiet
git --git-dir="$WORK/base.git" repack -adq
git --git-dir="$WORK/base.git" commit-graph write --reachable --no-progress
history=$(git --git-dir="$WORK/base.git" rev-list --count main)
mkdir -p "$WORK/guarded" "$WORK/plain" "$WORK/state"
cp -a "$WORK/base.git" "$WORK/guarded/bench.git"
cp -a "$WORK/base.git" "$WORK/plain/bench.git"
rm -rf "$WORK/base.git"

# --- The daemon with the embedded default policy; it installs the hooks. -----------------------
"$PUSHGUARD_BIN" policy default >"$WORK/default-policy.yaml"
grep -q secret_scanning "$WORK/default-policy.yaml" ||
    { say "secret-push-latency: the embedded default policy has no secret_scanning rule"; exit 2; }
start_daemon

git clone -q "file://$WORK/plain/bench.git" "$WORK/client"
cd "$WORK/client"
git remote rename origin plain
git remote add guarded "file://$WORK/guarded/bench.git"
git fetch -q guarded

n=$COMMITS
# new_commit: FILES new files of FILE_BYTES bytes of real source each, all distinct blobs.
new_commit() {
    n=$((n + 1))
    mkdir -p "src/change$n"
    local k off
    for k in $(seq "$FILES"); do
        off=$(( (n * 7919 + k * 104729) % (POOL_BYTES - FILE_BYTES) ))
        {
            printf '// change %d, file %d\n' "$n" "$k"
            dd if="$WORK/pool.rs" iflag=skip_bytes,count_bytes skip="$off" count="$((FILE_BYTES - 28))" status=none
            printf '\n'
        } >"src/change$n/file$k.rs"
    done
    git add "src/change$n"
    GIT_AUTHOR_DATE=$(commit_date "$n") GIT_COMMITTER_DATE=$(commit_date "$n") \
        git commit -q -m "Bench change $n"
}
daemon_state() {
    if kill -0 "$DAEMON_PID" 2>/dev/null; then say "(daemon $DAEMON_PID still running)"
    else say "(daemon $DAEMON_PID has exited)"; fi
    say "daemon log (last lines):"; tail -n 20 "$WORK/daemon.log" >&2
}
children_us() {
    local _ user sys
    { read -r _ _; read -r user sys; } <"$WORK/times"
    echo $(( $(to_us "$user") + $(to_us "$sys") ))
}
to_us() {
    local m=${1%%m*} f=${1#*m}
    f=${f%s}
    echo $(( (10#$m * 60 + 10#${f%.*}) * 1000000 + 10#${f#*.} * 1000 ))
}
push() {
    local start end cpu0
    times >"$WORK/times"; cpu0=$(children_us)
    start=$(ms_now)
    if ! GIT_TRACE2_EVENT="$WORK/$1.trace2" git push -q "$1" HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
        say "secret-push-latency: push to $1 failed:"; cat "$WORK/push.out" >&2
        daemon_state
        exit 2
    fi
    end=$(ms_now)
    times >"$WORK/times"; echo $(($(children_us) - cpu0)) >>"$WORK/$1.cpu-us"
    [ "$(git --git-dir="$WORK/$1/bench.git" rev-parse main)" = "$(git rev-parse HEAD)" ] ||
        { say "secret-push-latency: $1 did not take the commit"; exit 2; }
    echo $((end - start))
}
audit_lines() { if [ -f "$WORK/state/audit.jsonl" ]; then wc -l <"$WORK/state/audit.jsonl"; else echo 0; fi; }

# --- The hook must bite: a real-looking GitHub token (valid checksum) is rejected. ---------------
TOKEN=$(python3 - <<'PY'
import random, zlib
alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
body = "".join(random.SystemRandom().choice(alphabet) for _ in range(30))
c, s = zlib.crc32(body.encode()), ""
while c:
    c, r = divmod(c, 62)
    s = alphabet[r] + s
print("ghp_" + body + s.rjust(6, "0"))
PY
)
n=$((n + 1))
mkdir -p config
printf 'APP_NAME=bench\nGITHUB_TOKEN=%s\n' "$TOKEN" >config/app.env
git add config/app.env
GIT_AUTHOR_DATE=$(commit_date "$n") GIT_COMMITTER_DATE=$(commit_date "$n") git commit -q -m "Add config"
if git push -q guarded HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
    say "secret-push-latency: a push adding a GitHub token was ACCEPTED: secret scanning is not working; no numbers."
    exit 2
fi
grep -q secret_scanning "$WORK/push.out" && grep -q github-pat "$WORK/push.out" ||
    { say "secret-push-latency: token push rejected, but not by secret_scanning/github-pat:"; cat "$WORK/push.out" >&2; exit 2; }
tail -n1 "$WORK/state/audit.jsonl" | grep -q '"verdict":"rejected"'
if grep -rqsF "$TOKEN" "$WORK/push.out" "$WORK/state" "$WORK/daemon.log"; then
    say "secret-push-latency: the token's value appears in the push output, audit log or daemon log"; exit 2
fi
git reset -q --hard HEAD~1
n=$((n - 1))
say "push adding a ghp_ token rejected by secret_scanning (github-pat): the hook is live"

# --- Warm-up, then the timed runs. ---------------------------------------------------------------
for _ in $(seq "$WARMUP"); do
    new_commit
    push guarded >/dev/null
    push plain >/dev/null
done
added_bytes=$(cat src/change$n/*.rs | wc -c)
audit_before=$(audit_lines)
rm -f "$WORK/guarded.cpu-us" "$WORK/plain.cpu-us" "$WORK/guarded.trace2" "$WORK/plain.trace2"
daemon_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
daemon_ticks0=$(daemon_ticks)
: >"$WORK/guarded.ns"
: >"$WORK/plain.ns"
say "timing $RUNS runs..."
for run in $(seq "$RUNS"); do
    new_commit
    if [ $((run % 2)) -eq 1 ]; then order="guarded plain"; else order="plain guarded"; fi
    for remote in $order; do
        push "$remote" >>"$WORK/$remote.ns"
    done
done
audit_after=$(audit_lines)
daemon_cpu_ms=$(awk -v t="$(( $(daemon_ticks) - daemon_ticks0 ))" -v hz="$(getconf CLK_TCK)" -v n="$RUNS" \
    'BEGIN { printf "%.2f", t * 1000 / hz / n }')
daemon_hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
daemon_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
[ $((audit_after - audit_before)) -eq "$RUNS" ] ||
    { say "secret-push-latency: expected $RUNS audit lines, got $((audit_after - audit_before))"; exit 2; }
if tail -n "$RUNS" "$WORK/state/audit.jsonl" | grep -qv '"verdict":"allowed"'; then
    say "secret-push-latency: a timed pushguard push was not judged allowed"; exit 2
fi
tail -n "$RUNS" "$WORK/state/audit.jsonl" | sed -n 's/.*"duration_ms":\([-0-9.eE+]*\).*/\1/p' >"$WORK/daemon.ms"
[ "$(wc -l <"$WORK/daemon.ms")" -eq "$RUNS" ] || { say "secret-push-latency: no duration_ms in the audit log"; exit 2; }
# Did the daemon really scan? The audit line should say how many blobs/bytes, if it records it.
scanned=$(tail -n1 "$WORK/state/audit.jsonl" | grep -o '"blobs_scanned":[0-9]*\|"bytes_scanned":[0-9]*' | tr '\n' ' ' || true)

# The pre-receive hook's wall time as git-receive-pack measured it (trace2 child_exit t_rel of the
# child whose child_class is "hook"): hook start-up + request + the daemon's judgement + reply.
# Both pushes write trace2 events, so its small cost is the same on both sides.
python3 - "$WORK/guarded.trace2" >"$WORK/hook.ms" <<'PY'
import json, sys
hooks = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    key = (e.get("sid"), e.get("child_id"))
    if e.get("event") == "child_start" and e.get("child_class") == "hook":
        hooks[key] = e.get("hook_name")
    elif e.get("event") == "child_exit" and key in hooks:
        print(f"{hooks.pop(key)} {e['t_rel'] * 1000:.3f}")
PY
[ "$(grep -c '^pre-receive ' "$WORK/hook.ms")" -eq "$RUNS" ] ||
    { say "secret-push-latency: expected $RUNS pre-receive runs in the trace, got: $(cut -d' ' -f1 "$WORK/hook.ms" | sort | uniq -c)"; exit 2; }
other_hooks=$(grep -v '^pre-receive ' "$WORK/hook.ms" | cut -d' ' -f1 | sort -u | tr '\n' ' ' || true)
awk '{ print $2 }' "$WORK/hook.ms" >"$WORK/prereceive.ms"

# Per-run added latency: guarded minus plain of the same run (same commit).
paste "$WORK/guarded.ns" "$WORK/plain.ns" | awk '{ print $1 - $2 }' >"$WORK/added.ns"

stats() { # FILE SCALE -> "median p95" (nearest rank)
    sort -g "$1" | awk -v s="$2" '{ v[NR] = $1 / s }
        END {
            if (NR == 0) { print "nan nan"; exit }
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            r = int(0.95 * NR); if (r < 0.95 * NR) r++
            printf "%.2f %.2f\n", med, v[r]
        }'
}
read -r g_med g_p95 < <(stats "$WORK/guarded.ns" 1000000)
read -r p_med p_p95 < <(stats "$WORK/plain.ns" 1000000)
read -r a_med a_p95 < <(stats "$WORK/added.ns" 1000000)
read -r d_med d_p95 < <(stats "$WORK/daemon.ms" 1)
read -r h_med h_p95 < <(stats "$WORK/prereceive.ms" 1)
read -r gc_med gc_p95 < <(stats "$WORK/guarded.cpu-us" 1000)
read -r pc_med pc_p95 < <(stats "$WORK/plain.cpu-us" 1000)
gc_total=$(awk -v a="$gc_med" -v d="$daemon_cpu_ms" 'BEGIN { printf "%.2f", a + d }')
ok_judged=$(awk -v a="$h_p95" -v t="$TARGET_P95_MS" 'BEGIN { print (a <= t) ? "met" : "MISSED" }')

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cat <<EOF

pushguard secret-scanning push latency
  machine:        $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)
  date:           $(date -u '+%Y-%m-%d %H:%M:%S UTC')
  git:            $(git --version | cut -d' ' -f3); pushguard $("$PUSHGUARD_BIN" --version | cut -d' ' -f2)
  policy:         embedded default (pushguard serve without --policy: secret_scanning on every ref)
  history:        $history commits; each push: 1 commit adding $FILES new files, $added_bytes bytes of Rust source in all, over file://
  runs:           $RUNS per repository (after $WARMUP warm-up pushes each), order alternating
  checked:        a push adding a ghp_ token (valid checksum) was rejected; all $RUNS timed pushes accepted and audited allowed
EOF
[ -n "$scanned" ] && printf '  last audit:     %s\n' "$scanned"
printf '\n                           median      p95   (ms, wall-clock)\n'
printf '  git push, no hooks     %8s %8s\n' "$p_med" "$p_p95"
printf '  git push, pushguard    %8s %8s\n' "$g_med" "$g_p95"
printf '  added (same run)       %8s %8s   (pushguard push minus no-hooks push, per run)\n' "$a_med" "$a_p95"
printf '  pre-receive hook       %8s %8s   (as git-receive-pack timed it, trace2: hook + daemon round trip)\n' "$h_med" "$h_p95"
printf '  daemon decision        %8s %8s   (audit.jsonl duration_ms: collect + scan + rules)\n' "$d_med" "$d_p95"
[ -n "$other_hooks" ] && printf '  other hooks run:       %s\n' "$other_hooks"
printf '\n  CPU per push (user+sys):  median      p95   (ms)\n'
printf '  git push, no hooks     %8s %8s\n' "$pc_med" "$pc_p95"
printf '  git push + hooks       %8s %8s   (the push process tree, daemon not included)\n' "$gc_med" "$gc_p95"
printf '  daemon                 %8s            (mean over the runs, /proc/<pid>/stat ticks)\n' "$daemon_cpu_ms"
printf '  added CPU (medians)    %8s\n' "$(awk -v g="$gc_total" -v p="$pc_med" 'BEGIN { printf "%.2f", g - p }')"
printf '\n  daemon memory after the runs: VmHWM %s kB, VmRSS %s kB\n' "$daemon_hwm" "$daemon_rss"
echo
printf '  judged in (pre-receive hook + daemon), p95: %s ms   (target <= %s ms: %s)\n' \
    "$h_p95" "$TARGET_P95_MS" "$ok_judged"
printf '  added push latency, p95 of per-run differences: %s ms (includes the noise of both pushes)\n' "$a_p95"
printf '  daemon decision p95:   %s ms\n' "$d_p95"
printf '  TARGET %s\n' "$( [ "$ok_judged" = met ] && echo MET || echo MISSED)"
