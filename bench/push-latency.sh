#!/usr/bin/env bash
# Push latency with and without pushguard (issue 2's benchmark). Not a test: it prints numbers.
#
# A bare repository with COMMITS commits of history (built with git fast-import, repacked, with a
# commit-graph, as a real server would have it) is copied twice: one copy gets pushguard's hooks
# (installed by `pushguard serve`, whose daemon then judges every push), the other has no hooks.
# Each run makes one new SSH-signed commit in a client clone and pushes it over file:// (so
# git-receive-pack really runs, with quarantine and hooks) to both copies, alternating which goes
# first, and times each `git push` wall-clock. Every pushguard push must be accepted, and one
# unsigned commit must be rejected first, so a broken hook cannot pass for a fast one.
#
#   COMMITS=50000 RUNS=30 bench/push-latency.sh
#
# Environment: COMMITS (default 50000), RUNS (30), WARMUP (3, untimed pushes to each repo first),
# KEEP_WORK (set: keep the temporary directory for inspection; the daemon is still stopped),
# PUSHGUARD_BIN (default: `cargo build --release -p pushguard`, then target/release/pushguard,
# honouring CARGO_TARGET_DIR). Needs git >= 2.34, ssh-keygen, awk.
set -euo pipefail

COMMITS=${COMMITS:-50000}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
TARGET_RATIO=1.20
TARGET_ADDED_MS=20

. "$(dirname "$0")/lib.sh"

pin_world

# --- The server repository: COMMITS commits of history, fast. -------------------------------
say "building a bare repository with $COMMITS commits (git fast-import)..."
t0=$(ms_now)
build_main_history "$COMMITS"
git --git-dir="$WORK/base.git" repack -adq
git --git-dir="$WORK/base.git" commit-graph write --reachable --no-progress
history=$(git --git-dir="$WORK/base.git" rev-list --count main)
say "  $history commits in $(( ($(ms_now) - t0) / 1000000 )) ms"
[ "$history" -ge "$COMMITS" ] || { say "push-latency: expected $COMMITS commits, got $history"; exit 2; }

mkdir -p "$WORK/guarded" "$WORK/plain" "$WORK/state"
cp -a "$WORK/base.git" "$WORK/guarded/bench.git"
cp -a "$WORK/base.git" "$WORK/plain/bench.git"
rm -rf "$WORK/base.git"

# --- A signing key made now, and a policy that requires it on main. --------------------------
ssh-keygen -q -t ed25519 -N '' -C alice@bench -f "$WORK/alice" >/dev/null
cat >"$WORK/policy.yaml" <<EOF
version: 1
identities:
  alice:
    emails: [alice@example.org]
    keys:
      - ssh: "$(cat "$WORK/alice.pub")"
    roles: [maintainer]
pusher:
  env: [PUSHGUARD_USER]
rulesets:
  - name: protect-main
    target: branch
    include: [~DEFAULT_BRANCH, main]
    rules:
      non_fast_forward: {}
      deletion: {}
      required_signatures: {}
      required_linear_history: {}
EOF
"$PUSHGUARD_BIN" policy check "$WORK/policy.yaml" >/dev/null

# --- The daemon; it installs the hooks into guarded/bench.git. ----------------------------------
start_daemon --policy "$WORK/policy.yaml"

# --- The client: a clone that signs its commits with the key. -----------------------------------
git clone -q "file://$WORK/plain/bench.git" "$WORK/client"
cd "$WORK/client"
git remote rename origin plain
git remote add guarded "file://$WORK/guarded/bench.git"
git fetch -q guarded
git config gpg.format ssh
git config user.signingkey "$WORK/alice.pub"
git config commit.gpgsign true

n=$COMMITS
new_commit() { # one signed commit that changes a file, dated after the history
    n=$((n + 1))
    echo "bench change $n" >bench.txt
    git add bench.txt
    GIT_AUTHOR_DATE=$(commit_date "$n") GIT_COMMITTER_DATE=$(commit_date "$n") \
        git commit -q -m "Bench change $n" "$@"
}
daemon_state() {
    if kill -0 "$DAEMON_PID" 2>/dev/null; then say "(daemon $DAEMON_PID still running)"
    else say "(daemon $DAEMON_PID has exited)"; fi
    say "daemon log (last lines):"; tail -n 20 "$WORK/daemon.log" >&2
}
# push REMOTE: time one push of HEAD to main, in ns; fails the bench if it is not accepted.
# The push's CPU time (git and every hook it runs, all waited for) is the difference in this
# shell's children times, read with the `times` builtin in this shell (not in a subshell).
children_us() { # -> CPU microseconds (user + sys) of this shell's finished children
    local _ user sys
    { read -r _ _; read -r user sys; } <"$WORK/times"
    echo $(( $(to_us "$user") + $(to_us "$sys") ))
}
to_us() { # 1m2.345s -> microseconds
    local m=${1%%m*} f=${1#*m}
    f=${f%s}
    echo $(( (10#$m * 60 + 10#${f%.*}) * 1000000 + 10#${f#*.} * 1000 ))
}
push() {
    local start end cpu0
    times >"$WORK/times"; cpu0=$(children_us)
    start=$(ms_now)
    if ! git push -q "$1" HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
        say "push-latency: push to $1 failed:"; cat "$WORK/push.out" >&2
        daemon_state
        exit 2
    fi
    end=$(ms_now)
    times >"$WORK/times"; echo $(($(children_us) - cpu0)) >>"$WORK/$1.cpu-us"
    [ "$(git --git-dir="$WORK/$1/bench.git" rev-parse main)" = "$(git rev-parse HEAD)" ] ||
        { say "push-latency: $1 did not take the commit"; exit 2; }
    echo $((end - start))
}
audit_lines() { if [ -f "$WORK/state/audit.jsonl" ]; then wc -l <"$WORK/state/audit.jsonl"; else echo 0; fi; }

# --- The hook must bite: an unsigned commit is rejected. ----------------------------------------
new_commit --no-gpg-sign
if git push -q guarded HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
    say "push-latency: an UNSIGNED commit was accepted: the hook is not working; no numbers."
    exit 2
fi
grep -q required_signatures "$WORK/push.out" ||
    { say "push-latency: unsigned push rejected, but not by required_signatures:"; cat "$WORK/push.out" >&2; exit 2; }
tail -n1 "$WORK/state/audit.jsonl" | grep -q '"verdict":"rejected"'
git reset -q --hard HEAD~1
n=$((n - 1))
say "unsigned commit rejected by required_signatures: the hook is live"

# --- Warm-up (untimed), then the timed runs. ----------------------------------------------------
for _ in $(seq "$WARMUP"); do
    new_commit
    push guarded >/dev/null
    push plain >/dev/null
done
audit_before=$(audit_lines)
rm -f "$WORK/guarded.cpu-us" "$WORK/plain.cpu-us"
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
[ $((audit_after - audit_before)) -eq "$RUNS" ] ||
    { say "push-latency: expected $RUNS audit lines, got $((audit_after - audit_before))"; exit 2; }
if tail -n "$RUNS" "$WORK/state/audit.jsonl" | grep -qv '"verdict":"allowed"'; then
    say "push-latency: a timed pushguard push was not judged allowed"; exit 2
fi
tail -n "$RUNS" "$WORK/state/audit.jsonl" | sed -n 's/.*"duration_ms":\([-0-9.eE+]*\).*/\1/p' >"$WORK/daemon.ms"

# Hook start-up alone: the process git runs, with nothing to judge (reads `git config`, exits).
: >"$WORK/startup.ns"
for _ in $(seq "$RUNS"); do
    start=$(ms_now)
    GIT_DIR="$WORK/guarded/bench.git" "$PUSHGUARD_BIN" hook pre-receive </dev/null
    echo $(($(ms_now) - start)) >>"$WORK/startup.ns"
done

# --- Statistics: median and p95 (nearest rank), in ms. ------------------------------------------
# stats FILE SCALE: values in FILE divided by SCALE -> "median p95"
stats() {
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
read -r d_med d_p95 < <(stats "$WORK/daemon.ms" 1)
read -r s_med s_p95 < <(stats "$WORK/startup.ns" 1000000)
read -r gc_med _ < <(stats "$WORK/guarded.cpu-us" 1000)
read -r pc_med _ < <(stats "$WORK/plain.cpu-us" 1000)
gc_total=$(awk -v a="$gc_med" -v d="$daemon_cpu_ms" 'BEGIN { printf "%.2f", a + d }')
ratio=$(awk -v g="$g_med" -v p="$p_med" 'BEGIN { printf "%.3f", g / p }')
added=$(awk -v g="$g_med" -v p="$p_med" 'BEGIN { printf "%.2f", g - p }')
ok_ratio=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t) ? "met" : "MISSED" }')
ok_added=$(awk -v a="$added" -v t="$TARGET_ADDED_MS" 'BEGIN { print (a < t) ? "met" : "MISSED" }')
verdict=MET
[ "$ok_ratio" = met ] && [ "$ok_added" = met ] || verdict=MISSED

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cat <<EOF

pushguard push latency
  machine:        $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)
  date:           $(date -u '+%Y-%m-%d %H:%M:%S UTC')
  git:            $(git --version | cut -d' ' -f3); pushguard $("$PUSHGUARD_BIN" --version | cut -d' ' -f2)
  history:        $history commits (packed, commit-graph); 1 signed commit per push over file://
  runs:           $RUNS per repository (after $WARMUP warm-up pushes each), order alternating
EOF
printf '\n                           median      p95   (ms)\n'
printf '  git push, no hooks     %8s %8s\n' "$p_med" "$p_p95"
printf '  git push, pushguard    %8s %8s\n' "$g_med" "$g_p95"
printf '  daemon decision        %8s %8s   (audit.jsonl duration_ms)\n' "$d_med" "$d_p95"
printf '  hook start-up alone    %8s %8s   (pushguard hook pre-receive, no updates)\n' "$s_med" "$s_p95"
printf '\n  CPU per push (user+sys, median; less sensitive to other load than wall-clock):\n'
printf '  git push, no hooks     %8s ms\n' "$pc_med"
printf '  git push, pushguard    %8s ms   (git and hooks %s + daemon %s, its mean over the runs)\n' \
    "$gc_total" "$gc_med" "$daemon_cpu_ms"
printf '  added CPU              %8s ms\n' "$(awk -v g="$gc_total" -v p="$pc_med" 'BEGIN { printf "%.2f", g - p }')"
echo
printf '  ratio of medians:      %s   (target <= %s: %s)\n' "$ratio" "$TARGET_RATIO" "$ok_ratio"
printf '  added latency:         %s ms   (target < %s ms: %s)\n' "$added" "$TARGET_ADDED_MS" "$ok_added"
printf '  TARGET %s\n' "$verdict"
