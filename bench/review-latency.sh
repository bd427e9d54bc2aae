#!/usr/bin/env bash
# What issue 14's four-eyes rule costs on the push path. Not a test: it prints numbers.
#
# Issue 14's target: with 50 approvals stored for a ref and a 2,000-line CODEOWNERS, the push
# latency stays within 5% of today's. The history is push-latency.sh's (COMMITS commits built
# with git fast-import, repacked, with a commit-graph) plus one commit that adds a generated
# CODEOWNERS of OWNERS_LINES lines (directory and glob patterns, owners among the policy's
# identities, teams and emails). It is copied three times:
#
#   plain     no hooks;
#   guarded   `pushguard serve` with push-latency.sh's policy (signatures, linear history, no
#             force-push, no deletion on main): the baseline;
#   review    a second `pushguard serve` whose policy is the same plus identities bob and carol
#             and a `pull_request` rule on main (2 approvals, require_code_owner_review), with
#             STALE approvals already stored for main (signed by bob and carol with
#             `pushguard approve` for old updates of main, pushed before the daemon started).
#
# Each run makes one new SSH-signed commit in a client clone (it changes a code-owned file under
# src/). Untimed, bob and carol fetch it into their clones and run `pushguard approve --ref main
# <commit> --push`. Then the commit is pushed over file:// to the three copies (order rotating)
# and each `git push` is timed wall-clock. Every push must be accepted (and, in review, with
# exactly STALE + 2 approvals stored); afterwards (untimed) bob and carol delete the two approvals
# they made, so every timed push meets the same STALE + 2. Before the runs, one signed commit
# without approvals must be rejected by pull_request, with the stored approvals judged stale,
# and one unsigned commit by required_signatures in both guarded copies: a broken rule cannot
# pass for a fast one.
#
#   COMMITS=50000 RUNS=30 bench/review-latency.sh
#
# Environment: COMMITS (default 50000), RUNS (30), WARMUP (3 untimed runs), STALE (50),
# OWNERS_LINES (2000), KEEP_WORK (keep the temporary directory; the daemons are still stopped),
# PUSHGUARD_BIN (default: `cargo build --release -p pushguard`, then target/release/pushguard,
# honouring CARGO_TARGET_DIR). Needs git >= 2.34, ssh-keygen, awk.
set -euo pipefail

COMMITS=${COMMITS:-50000}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
STALE=${STALE:-50}
OWNERS_LINES=${OWNERS_LINES:-2000}
TARGET_RATIO=1.05 # review / baseline, medians of the timed pushes

. "$(dirname "$0")/lib.sh"

# lib.sh stops one daemon (DAEMON_PID, the baseline's); this script runs a second one.
REVIEW_PID=
stop_review() {
    if [ -n "$REVIEW_PID" ]; then
        kill "$REVIEW_PID" 2>/dev/null || true
        wait "$REVIEW_PID" 2>/dev/null || true
    fi
}
trap 'stop_review; cleanup' EXIT

pin_world
[ $((STALE % 2)) -eq 0 ] || { say "review-latency: STALE must be even (half bob's, half carol's)"; exit 2; }

# --- The server repository: push-latency.sh's history, fast. ----------------------------------
say "building a bare repository with $COMMITS commits (git fast-import)..."
t0=$(ms_now)
build_main_history "$COMMITS"

# --- CODEOWNERS on main, before any hook: OWNERS_LINES lines, last matching line decides. ------
# Owners are identities (@bob), teams (@acme/NAME: roles in the policy) and emails; every line
# names bob or carol (directly or through a team), so their two approvals satisfy any path, as
# the owners of a real repository would be asked.
git clone -q "file://$WORK/base.git" "$WORK/seed"
mkdir -p "$WORK/seed/.github"
awk -v lines="$OWNERS_LINES" 'BEGIN {
    split("@bob|@carol|@bob @carol|@acme/backend|@acme/frontend|@alice @bob|@alice @carol|bob@example.org|carol@example.org|@acme/reviewers @alice", own, "|")
    split("rs|go|py|ts|md|yaml|json|toml|sh|txt", ext, "|")
    k = 0
    out("# CODEOWNERS of the review-latency benchmark (generated; the last matching line decides)")
    out("")
    out("*                         @alice @bob")
    out("/.github/                 @alice @carol")
    out("/docs/                    @carol @acme/frontend")
    for (i = 0; k < lines; i++) {
        m = i % 100; r = int(i / 100)
        if (i % 100 == 0) { out(""); out(sprintf("# Block %d", r)) }
        if (k < lines) out(sprintf("/src/mod%03d/%s  %s", m, r ? sprintf("sub%d/", r) : "", own[1 + i % 10]))
        if (k < lines) out(sprintf("/src/mod%03d/**/*.%s  %s", m, ext[1 + (i + r) % 10], own[1 + (i + 3) % 10]))
        if (k < lines) out(sprintf("src/mod%03d/file%d*.txt  %s", m, (i * 7 + r) % 100, own[1 + (i + 5) % 10]))
        if (k < lines) out(sprintf("**/generated/mod%03d-%d/  %s", m, r, own[1 + (i + 7) % 10]))
        if (k < lines) out(sprintf("/tools/t%d/*.%s  %s", i, ext[1 + i % 10], own[1 + (i + 1) % 10]))
    }
}
function out(s) { if (k < lines) { print s; k++ } }' >"$WORK/seed/.github/CODEOWNERS"
[ "$(wc -l <"$WORK/seed/.github/CODEOWNERS")" -eq "$OWNERS_LINES" ]
git -C "$WORK/seed" add .github/CODEOWNERS
GIT_AUTHOR_DATE=$(commit_date $((COMMITS + 1))) GIT_COMMITTER_DATE=$(commit_date $((COMMITS + 1))) \
    git -C "$WORK/seed" commit -q -m "Code owners"
git -C "$WORK/seed" push -q origin HEAD:main
rm -rf "$WORK/seed"
git --git-dir="$WORK/base.git" repack -adq
git --git-dir="$WORK/base.git" commit-graph write --reachable --no-progress
history=$(git --git-dir="$WORK/base.git" rev-list --count main)
say "  $history commits in $(( ($(ms_now) - t0) / 1000000 )) ms"
[ "$history" -eq $((COMMITS + 1)) ] || { say "review-latency: expected $((COMMITS + 1)) commits, got $history"; exit 2; }

mkdir -p "$WORK/guarded" "$WORK/review" "$WORK/plain" "$WORK/state" "$WORK/review-state"
cp -a "$WORK/base.git" "$WORK/guarded/bench.git"
cp -a "$WORK/base.git" "$WORK/review/bench.git"
cp -a "$WORK/base.git" "$WORK/plain/bench.git"
rm -rf "$WORK/base.git"

# --- Keys made now, and the two policies. -------------------------------------------------------
mkdir "$WORK/keys"
for who in alice bob carol; do
    ssh-keygen -q -t ed25519 -N '' -C "$who@bench" -f "$WORK/keys/$who" >/dev/null
done
# The baseline: push-latency.sh's policy, unchanged.
cat >"$WORK/policy.yaml" <<EOF
version: 1
identities:
  alice:
    emails: [alice@example.org]
    keys:
      - ssh: "$(cat "$WORK/keys/alice.pub")"
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
# The same, plus two reviewers and four eyes on main.
cat >"$WORK/review-policy.yaml" <<EOF
version: 1
identities:
  alice:
    emails: [alice@example.org]
    keys:
      - ssh: "$(cat "$WORK/keys/alice.pub")"
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    keys:
      - ssh: "$(cat "$WORK/keys/bob.pub")"
    roles: [developer, acme/backend, acme/reviewers]
  carol:
    emails: [carol@example.org]
    keys:
      - ssh: "$(cat "$WORK/keys/carol.pub")"
    roles: [reviewer, acme/frontend, acme/reviewers]
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
      pull_request:
        required_approving_review_count: 2
        require_code_owner_review: true
EOF
"$PUSHGUARD_BIN" policy check "$WORK/policy.yaml" >/dev/null
"$PUSHGUARD_BIN" policy check "$WORK/review-policy.yaml" >/dev/null

# --- Reviewers' clones of review/bench.git; STALE approvals for old updates of main. -----------
reviewer_git() { local who=$1; shift; PUSHGUARD_USER=$who git -C "$WORK/$who" "$@"; }
for who in bob carol; do
    git clone -q "file://$WORK/review/bench.git" "$WORK/$who"
    reviewer_git "$who" config user.name "$who"
    reviewer_git "$who" config user.email "$who@example.org"
    reviewer_git "$who" config gpg.format ssh
    reviewer_git "$who" config user.signingkey "$WORK/keys/$who.pub"
done
say "signing $STALE approvals of old updates of main (bob's and carol's)..."
for i in $(seq 1 $((STALE / 2))); do
    for who in bob carol; do
        # The update main~(2i) -> main~(2i-1): landed long ago, so the approval is stale.
        (cd "$WORK/$who" && PUSHGUARD_USER=$who "$PUSHGUARD_BIN" approve --ref main \
            --base "main~$((2 * i))" "main~$((2 * i - 1))" >/dev/null)
    done
done
if [ "$STALE" -gt 0 ]; then
    for who in bob carol; do # no hooks yet: a plain push
        reviewer_git "$who" push -q origin 'refs/pushguard/approvals/*:refs/pushguard/approvals/*'
    done
fi
approvals_stored() {
    git --git-dir="$WORK/review/bench.git" for-each-ref refs/pushguard/approvals/heads/main/ | wc -l
}
[ "$(approvals_stored)" -eq "$STALE" ] ||
    { say "review-latency: expected $STALE stored approvals, found $(approvals_stored)"; exit 2; }

# --- The daemons: lib.sh's over guarded/, a second one over review/. --------------------------
start_daemon --policy "$WORK/policy.yaml"
REVIEW_SOCK="$WORK/review-state/pushguard.sock"
"$PUSHGUARD_BIN" serve --repos "$WORK/review" --policy "$WORK/review-policy.yaml" \
    --socket "$REVIEW_SOCK" --state-dir "$WORK/review-state" 2>"$WORK/review-daemon.log" &
REVIEW_PID=$!
for _ in $(seq 300); do
    if [ -S "$REVIEW_SOCK" ] && grep -qs pushguard-hook "$WORK/review/bench.git/hooks/pre-receive" &&
        [ "$(git --git-dir="$WORK/review/bench.git" config --get pushguard.socket || true)" = "$REVIEW_SOCK" ]; then
        break
    fi
    kill -0 "$REVIEW_PID" 2>/dev/null || { cat "$WORK/review-daemon.log" >&2; exit 2; }
    sleep 0.1
done
grep -qs pushguard-hook "$WORK/review/bench.git/hooks/pre-receive" ||
    { say "review-latency: the review daemon did not install its hooks"; cat "$WORK/review-daemon.log" >&2; exit 2; }
[ ! -e "$WORK/plain/bench.git/hooks/pre-receive" ] && [ ! -e "$WORK/plain/bench.git/hooks/update" ]

# --- The client: alice's clone, signing her commits. ------------------------------------------
git clone -q "file://$WORK/plain/bench.git" "$WORK/client"
cd "$WORK/client"
git remote rename origin plain
git remote add guarded "file://$WORK/guarded/bench.git"
git remote add review "file://$WORK/review/bench.git"
git fetch -q guarded
git fetch -q review
git config gpg.format ssh
git config user.signingkey "$WORK/keys/alice.pub"
git config commit.gpgsign true
for who in bob carol; do reviewer_git "$who" remote add author "file://$WORK/client"; done

n=$((COMMITS + 1))
new_commit() { # one signed commit that changes a code-owned file, dated after the history
    n=$((n + 1))
    local path
    path=$(printf 'src/mod%03d/file%d.txt' $((n % 100)) $((n % 997)))
    mkdir -p "$(dirname "$path")"
    echo "bench change $n" >"$path"
    git add "$path"
    GIT_AUTHOR_DATE=$(commit_date "$n") GIT_COMMITTER_DATE=$(commit_date "$n") \
        git commit -q -m "Bench change $n" "$@"
}
daemon_state() {
    local pid
    for pid in "$DAEMON_PID" "$REVIEW_PID"; do
        if kill -0 "$pid" 2>/dev/null; then say "(daemon $pid still running)"
        else say "(daemon $pid has exited)"; fi
    done
    say "daemon logs (last lines):"; tail -n 10 "$WORK/daemon.log" "$WORK/review-daemon.log" >&2
}
# approve: bob and carol approve HEAD for main (untimed), each with a fresh signed approval;
# the refs they pushed go to $WORK/fresh for unapprove.
approve() {
    local who head out
    head=$(git rev-parse HEAD)
    : >"$WORK/fresh"
    for who in bob carol; do
        reviewer_git "$who" fetch -q origin
        reviewer_git "$who" fetch -q author main
        if ! out=$(cd "$WORK/$who" && PUSHGUARD_USER=$who "$PUSHGUARD_BIN" approve --ref main "$head" --push 2>&1); then
            say "review-latency: $who could not approve $head:"; say "$out"; daemon_state; exit 2
        fi
        printf '%s %s\n' "$who" "$(printf '%s\n' "$out" | sed -n 's/^approve .*: \(refs\/pushguard\/[^ ]*\)$/\1/p')" >>"$WORK/fresh"
    done
    [ "$(approvals_stored)" -eq $((STALE + 2)) ] ||
        { say "review-latency: expected $((STALE + 2)) stored approvals, found $(approvals_stored)"; exit 2; }
}
# unapprove: bob and carol delete the approvals approve made (they are stale now), untimed.
unapprove() {
    local who ref
    while read -r who ref; do
        [ -n "$ref" ] || { say "review-latency: approve did not name its ref"; exit 2; }
        if ! reviewer_git "$who" push -q origin ":$ref" >"$WORK/push.out" 2>&1; then
            say "review-latency: $who could not delete $ref:"; cat "$WORK/push.out" >&2; exit 2
        fi
        reviewer_git "$who" update-ref -d "$ref"
    done <"$WORK/fresh"
    [ "$(approvals_stored)" -eq "$STALE" ] ||
        { say "review-latency: expected $STALE stored approvals, found $(approvals_stored)"; exit 2; }
}

# push REMOTE: time one push of HEAD to main, in ns; fails the bench if it is not accepted.
# Also records the push's CPU (this shell's children, git and the hooks) in REMOTE.cpu-us, the
# daemon's CPU ticks during it in REMOTE.ticks, and for guarded copies the audit line's
# duration_ms in REMOTE.ms.
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
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
push() {
    local remote=$1 start end cpu0 pid= t0= audit head line
    head=$(git rev-parse HEAD)
    case $remote in
        guarded) pid=$DAEMON_PID audit="$WORK/state/audit.jsonl" ;;
        review) pid=$REVIEW_PID audit="$WORK/review-state/audit.jsonl" ;;
    esac
    [ -z "$pid" ] || t0=$(ticks "$pid")
    times >"$WORK/times"; cpu0=$(children_us)
    start=$(ms_now)
    if ! git push -q "$remote" HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
        say "review-latency: push to $remote failed:"; cat "$WORK/push.out" >&2
        daemon_state
        exit 2
    fi
    end=$(ms_now)
    times >"$WORK/times"; echo $(($(children_us) - cpu0)) >>"$WORK/$remote.cpu-us"
    [ "$(git --git-dir="$WORK/$remote/bench.git" rev-parse main)" = "$head" ] ||
        { say "review-latency: $remote did not take the commit"; exit 2; }
    if [ -n "$pid" ]; then
        echo $(($(ticks "$pid") - t0)) >>"$WORK/$remote.ticks"
        line=$(tail -n1 "$audit")
        case $line in
            *'"verdict":"allowed"'*"\"new\":\"$head\""* | *"\"new\":\"$head\""*'"verdict":"allowed"'*) ;;
            *) say "review-latency: the last audit line of $remote is not this push allowed:"; say "$line"; exit 2 ;;
        esac
        printf '%s\n' "$line" | sed -n 's/.*"duration_ms":\([-0-9.eE+]*\).*/\1/p' >>"$WORK/$remote.ms"
    fi
    echo $((end - start))
}

# --- The rules must bite. -----------------------------------------------------------------------
# An unsigned commit: rejected by required_signatures in both guarded copies.
new_commit --no-gpg-sign
for remote in guarded review; do
    if git push -q "$remote" HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
        say "review-latency: an UNSIGNED commit was accepted by $remote: the hook is not working; no numbers."
        exit 2
    fi
    grep -q required_signatures "$WORK/push.out" ||
        { say "review-latency: unsigned push to $remote rejected, but not by required_signatures:"; cat "$WORK/push.out" >&2; exit 2; }
done
git reset -q --hard HEAD~1
n=$((n - 1))
# A signed commit without approvals: review rejects it by pull_request, the stored approvals
# read and judged stale; the baseline would take it (not pushed there, to keep the copies equal).
new_commit
if git push -q review HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
    say "review-latency: a commit WITHOUT APPROVALS was accepted by review: the rule is not working; no numbers."
    exit 2
fi
tr -s ' \n' ' ' <"$WORK/push.out" >"$WORK/push.flat"
grep -q 'pull_request' "$WORK/push.flat" && { [ "$STALE" -eq 0 ] || grep -q 'stale' "$WORK/push.flat"; } ||
    { say "review-latency: push without approvals rejected, but not by pull_request over stale approvals:"; cat "$WORK/push.out" >&2; exit 2; }
tail -n1 "$WORK/review-state/audit.jsonl" | grep -q '"verdict":"rejected"'
cp "$WORK/push.out" "$WORK/rejected.txt"
# With only bob's approval, still rejected (two are required).
reviewer_git bob fetch -q origin
reviewer_git bob fetch -q author main
(cd "$WORK/bob" && PUSHGUARD_USER=bob "$PUSHGUARD_BIN" approve --ref main "$(git -C "$WORK/client" rev-parse HEAD)" --push >"$WORK/fresh.out" 2>&1) ||
    { say "review-latency: bob could not approve:"; cat "$WORK/fresh.out" >&2; exit 2; }
printf 'bob %s\n' "$(sed -n 's/^approve .*: \(refs\/pushguard\/[^ ]*\)$/\1/p' "$WORK/fresh.out")" >"$WORK/fresh"
if git push -q review HEAD:refs/heads/main >"$WORK/push.out" 2>&1; then
    say "review-latency: a commit with ONE approval was accepted by review: the rule is not working; no numbers."
    exit 2
fi
grep -q 'pull_request' "$WORK/push.out" ||
    { say "review-latency: push with one approval rejected, but not by pull_request:"; cat "$WORK/push.out" >&2; exit 2; }
unapprove
git reset -q --hard HEAD~1
n=$((n - 1))
say "unsigned commits rejected by required_signatures, a change without approvals (and one with a"
say "single approval) by pull_request, $STALE stored approvals judged stale: the rules are live"

# --- Warm-up (untimed), then the timed runs. ----------------------------------------------------
REMOTES="plain guarded review"
for _ in $(seq "$WARMUP"); do
    new_commit
    approve
    for remote in $REMOTES; do push "$remote" >/dev/null; done
    unapprove
done
for remote in $REMOTES; do rm -f "$WORK/$remote.ns" "$WORK/$remote.cpu-us" "$WORK/$remote.ticks" "$WORK/$remote.ms"; done
say "timing $RUNS runs..."
for run in $(seq "$RUNS"); do
    new_commit
    approve
    case $((run % 3)) in # rotate which copy goes first
        1) order="plain guarded review" ;;
        2) order="guarded review plain" ;;
        0) order="review plain guarded" ;;
    esac
    for remote in $order; do
        push "$remote" >>"$WORK/$remote.ns"
    done
    unapprove
done
for remote in $REMOTES; do
    [ "$(wc -l <"$WORK/$remote.ns")" -eq "$RUNS" ] || { say "review-latency: missing timings for $remote"; exit 2; }
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
mean_ticks_ms() { awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.2f", NR ? t * 1000 / hz / NR : 0 }' "$1"; }
read -r p_med p_p95 < <(stats "$WORK/plain.ns" 1000000)
read -r g_med g_p95 < <(stats "$WORK/guarded.ns" 1000000)
read -r r_med r_p95 < <(stats "$WORK/review.ns" 1000000)
read -r gd_med gd_p95 < <(stats "$WORK/guarded.ms" 1)
read -r rd_med rd_p95 < <(stats "$WORK/review.ms" 1)
read -r pc_med _ < <(stats "$WORK/plain.cpu-us" 1000)
read -r gc_med _ < <(stats "$WORK/guarded.cpu-us" 1000)
read -r rc_med _ < <(stats "$WORK/review.cpu-us" 1000)
gd_cpu=$(mean_ticks_ms "$WORK/guarded.ticks")
rd_cpu=$(mean_ticks_ms "$WORK/review.ticks")
ratio=$(awk -v r="$r_med" -v g="$g_med" 'BEGIN { printf "%.3f", r / g }')
added=$(awk -v r="$r_med" -v g="$g_med" 'BEGIN { printf "%.2f", r - g }')
d_ratio=$(awk -v r="$rd_med" -v g="$gd_med" 'BEGIN { printf "%.2f", r / g }')
g_ratio=$(awk -v g="$g_med" -v p="$p_med" 'BEGIN { printf "%.3f", g / p }')
r_ratio=$(awk -v r="$r_med" -v p="$p_med" 'BEGIN { printf "%.3f", r / p }')
verdict=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t) ? "MET" : "MISSED" }')

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cat <<EOF

pushguard push latency with four-eyes review (issue 14)
  machine:        $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)
  date:           $(date -u '+%Y-%m-%d %H:%M:%S UTC')
  git:            $(git --version | cut -d' ' -f3); pushguard $("$PUSHGUARD_BIN" --version | cut -d' ' -f2)
  history:        $history commits (packed, commit-graph), .github/CODEOWNERS of $OWNERS_LINES lines
  review:         pull_request (2 approvals, code owners) on main; $((STALE + 2)) approvals stored at
                  each timed push ($STALE stale, 2 fresh: bob's and carol's)
  runs:           $RUNS per repository (after $WARMUP warm-up runs), order rotating;
                  1 signed commit per push over file://, changing one code-owned file
EOF
printf '\n                              median      p95   (ms)\n'
printf '  git push, no hooks        %8s %8s\n' "$p_med" "$p_p95"
printf '  git push, baseline        %8s %8s   (ratio to no hooks %s)\n' "$g_med" "$g_p95" "$g_ratio"
printf '  git push, review          %8s %8s   (ratio to no hooks %s)\n' "$r_med" "$r_p95" "$r_ratio"
printf '  daemon decision, baseline %8s %8s   (audit.jsonl duration_ms)\n' "$gd_med" "$gd_p95"
printf '  daemon decision, review   %8s %8s   (audit.jsonl duration_ms; %sx the baseline'"'"'s)\n' "$rd_med" "$rd_p95" "$d_ratio"
printf '\n  CPU per push (median of git and hooks; daemon: mean over the pushes, 1/%s s ticks):\n' "$(getconf CLK_TCK)"
printf '  git push, no hooks        %8s ms\n' "$pc_med"
printf '  git push, baseline        %8s ms   + daemon %s ms\n' "$gc_med" "$gd_cpu"
printf '  git push, review          %8s ms   + daemon %s ms\n' "$rc_med" "$rd_cpu"
echo
printf '  review / baseline (medians): %s, %s ms   (target <= %s: %s)\n' "$ratio" "$added" "$TARGET_RATIO" "$verdict"
