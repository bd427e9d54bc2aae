#!/usr/bin/env bash
# Signature verification throughput: `pushguard verify` vs `git log --format=%G?` (gpg) on the same
# history of gpg-signed commits, with the same key; and the push latency of one signed commit
# on top of that history through a real `pushguard serve` (accepted-commit records on).
#
#   bench/verify.sh                 # COMMITS=3000
#   COMMITS=10000 bench/verify.sh
#   NO_DOCS=1 bench/verify.sh       # don't append the numbers to docs/benchmarks.md
#   KEEP=1 bench/verify.sh          # keep the temp dir (history, key, policy) for a closer look
#
# Not a test: prints numbers. Everything happens in a temp dir with its own GNUPGHOME and git
# config; the RSA-2048 key is generated at run time (TEST-ONLY, thrown away at the end).
#
# How the history is built: one gpg process per signature (as git does), commit objects
# assembled and written as loose objects by a small Python script (git would spend as long
# again forking itself per commit). All commits share the empty tree; %G? and verify only look
# at the commit objects.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
commits="${COMMITS:-3000}"
pushes="${PUSHES:-10}"
cd "$root"

cargo build --release -q -p pushguard
bin="${CARGO_TARGET_DIR:-$root/target}/release/pushguard"

work="$(mktemp -d /tmp/pg-bench-verify.XXXXXX)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The tests' pinned world (fixtures-repos/world.sh) under $work.
WORLD="$work" . "$root/fixtures-repos/world.sh"
unset XDG_STATE_HOME 2>/dev/null || true
# As in production: with RUST_BACKTRACE set, every error value Sequoia makes and handles
# internally captures a backtrace, which costs ~20% of verify's CPU time.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "Bench (test only) <bench@example.org>" rsa2048 sign never 2>/dev/null
fpr="$(gpg --batch --with-colons --list-keys bench@example.org | awk -F: '/^fpr/ {print $10; exit}')"
gpg --batch --armor --export "$fpr" > "$work/bench.asc"

repo="$work/history.git"
git init -q --bare "$repo"
git --git-dir="$repo" hash-object -t tree -w /dev/null >/dev/null   # the empty tree

echo "building $commits gpg-signed commits (RSA-2048) ..."
t0=$(date +%s.%N)
python3 - "$repo" "$fpr" "$commits" <<'PY'
import hashlib, os, subprocess, sys, zlib
repo, fpr, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
parent = None
t = 1735689600
for i in range(n):
    t += 60
    ident = f"Bench <bench@example.org> {t} +0000"
    head = f"tree {empty_tree}\n" + (f"parent {parent}\n" if parent else "")
    head += f"author {ident}\ncommitter {ident}\n"
    msg = f"\nCommit {i}\n"
    payload = (head + msg).encode()
    sig = subprocess.run(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
         "--status-fd=2", "-bsau", fpr],
        input=payload, capture_output=True, check=True).stdout.decode()
    lines = sig.rstrip("\n").split("\n")
    gpgsig = "gpgsig " + lines[0] + "\n" + "".join(" " + l + "\n" for l in lines[1:])
    body = (head + gpgsig + msg).encode()
    obj = b"commit %d\0" % len(body) + body
    oid = hashlib.sha1(obj).hexdigest()
    d = os.path.join(repo, "objects", oid[:2])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, oid[2:]), "wb") as f:
        f.write(zlib.compress(obj, 1))
    parent = oid
with open(os.path.join(repo, "refs", "heads", "main"), "w") as f:
    f.write(parent + "\n")
PY
t1=$(date +%s.%N)
git --git-dir="$repo" fsck --no-dangling --connectivity-only --no-progress >/dev/null
echo "built in $(python3 -c "print(f'{$t1-$t0:.1f}')") s; packing ..."
git --git-dir="$repo" gc -q --prune=now

cat > "$work/policy.yaml" <<EOF
version: 1
identities:
  bench:
    emails: [bench@example.org]
    keys:
      - openpgp: bench.asc
pusher:
  env: [PUSHGUARD_USER]
rulesets:
  - name: protect-main
    target: branch
    include: [main]
    rules:
      required_signatures: {}
EOF

# Each row: wall and CPU seconds of one command, and objects per second on each.
results="$work/results.txt"
: > "$results"
measure() { # NAME EXPECTED-GOOD COMMAND...
  local name=$1 want=$2
  shift 2
  python3 - "$name" "$want" "$commits" "$results" "$@" <<'PY'
import resource, subprocess, sys, time
name, want, n, results, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.perf_counter()
out = subprocess.run(cmd, capture_output=True, text=True)
wall = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
if name.startswith("git"):
    good = out.stdout.split().count("G")
else:
    good = out.stdout.count('"verdict":"good"')
if good != want:
    sys.exit(f"{name}: {good} good of {want} expected (exit {out.returncode}): {out.stderr[:500]}")
line = f"{name}\t{wall:.3f}\t{cpu:.3f}\t{n/wall:.0f}\t{n/cpu:.0f}"
print(f"{name:<34} wall {wall:7.3f} s  cpu {cpu:7.3f} s  {n/wall:9.0f} commits/s  {n/cpu:9.0f} commits/cpu-s")
open(results, "a").write(line + "\n")
PY
}

echo "history: $commits commits; cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm the page cache and gpg-agent once.
git --git-dir="$repo" log --format=%G? -1 main >/dev/null
"$bin" verify --repo "$repo" --policy "$work/policy.yaml" --no-records --format json main >/dev/null
measure "git log --format=%G?" "$commits" git --git-dir="$repo" log --format=%G? main
measure "pushguard verify --jobs 1" "$commits" "$bin" verify --repo "$repo" --policy "$work/policy.yaml" --no-records --format json --jobs 1 main
measure "pushguard verify (2 threads)" "$commits" "$bin" verify --repo "$repo" --policy "$work/policy.yaml" --no-records --format json --jobs 2 main

# Push latency of one new signed commit on top of the history, through the daemon (which
# writes its accepted-commit record after answering the hook).
mkdir -p "$work/repos" "$work/state"
git clone -q --bare "$repo" "$work/repos/app.git"
RUST_LOG=pushguard=debug "$bin" serve --repos "$work/repos" --policy "$work/policy.yaml" --state-dir "$work/state" \
  --socket "$work/pg.sock" --scan-interval 0.2 >/dev/null 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  if [ -S "$work/pg.sock" ] && grep -q pushguard-hook "$work/repos/app.git/hooks/pre-receive" 2>/dev/null; then break; fi
  sleep 0.1
done
git clone -q "file://$work/repos/app.git" "$work/client"
cd "$work/client"
git config user.name Bench; git config user.email bench@example.org
git config user.signingkey "$fpr"; git config gpg.format openpgp
lat="$work/latency.txt"
: > "$lat"
for i in $(seq "$pushes"); do
  git commit -q -S --allow-empty -m "push $i"
  s=$(date +%s%N)
  PUSHGUARD_USER=bench git push -q origin main 2>>"$work/push.err"
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 )) >> "$lat"
done
cd "$root"
sleep 0.3
recorded=$("$bin" verify --repo "$work/repos/app.git" --policy "$work/policy.yaml" --state-dir "$work/state" \
  --format json "main~$pushes..main" | grep -c '"basis":"recorded"' || true)
python3 - "$lat" "$work/state/audit.jsonl" "$results" "$recorded" "$pushes" "$work/daemon.log" <<'PY'
import json, re, statistics, sys
lat = sorted(int(x) / 1000 for x in open(sys.argv[1]).read().split())
plain = (re.sub(r"\x1b\[[0-9;]*m", "", l) for l in open(sys.argv[6]))   # tracing colours fields
writes = [float(m.group(1)) for l in plain if "accepted objects recorded" in l
          for m in [re.search(r"\bms=([0-9.]+)", l)] if m]
decide = sorted(json.loads(l)["duration_ms"] for l in open(sys.argv[2]) if '"decision"' in l)
p50 = statistics.median(lat)
print(f"push of 1 signed commit (git push wall): p50 {p50:.1f} ms, max {max(lat):.1f} ms over {len(lat)} pushes")
wp50 = statistics.median(writes) if writes else float("nan")
print(f"daemon decision time: p50 {statistics.median(decide):.2f} ms; record write after the answer: p50 {wp50:.2f} ms; {sys.argv[4]}/{sys.argv[5]} pushes recorded")
open(sys.argv[3], "a").write(f"push\t{p50:.1f}\t{max(lat):.1f}\t{statistics.median(decide):.2f}\t{sys.argv[4]}/{sys.argv[5]}\t{wp50:.2f}\n")
PY

python3 - "$results" "$commits" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rows[f[0]] = f[1:]
g = float(rows["git log --format=%G?"][0])
for k in ("pushguard verify --jobs 1", "pushguard verify (2 threads)"):
    print(f"ratio {k} vs git log --format=%G?: {g / float(rows[k][0]):.0f}x (wall)")
print(f"OpenPGP RSA-2048 verifications per CPU-second (verify --jobs 1, incl. reading commits): {rows['pushguard verify --jobs 1'][3]}")
PY

if [ "${NO_DOCS:-0}" != 1 ]; then
  python3 - "$results" "$commits" "$root/docs/benchmarks.md" <<'PY'
import datetime, os, platform, subprocess, sys
results, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {}
push = None
for line in open(results):
    f = line.rstrip("\n").split("\t")
    if f[0] == "push":
        push = f[1:]
    else:
        rows[f[0]] = [float(x) for x in f[1:]]
model = "unknown CPU"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        model = l.split(":", 1)[1].strip()
        break
load = open("/proc/loadavg").read().split()[:3]
g = rows["git log --format=%G?"][0]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
out = [f"### {now}: {n} commits, `COMMITS={n} bench/verify.sh`", "",
       f"{model}, {os.cpu_count()} cores, load average {' '.join(load)} (shared with other builds), "
       f"{platform.system()} {platform.release()}; gpg {subprocess.run(['gpg', '--version'], capture_output=True, text=True).stdout.split()[2]}, "
       f"{subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}.", "",
       "| command | wall s | CPU s | commits/s (wall) | commits per CPU-s | vs `git log %G?` |",
       "|---|---|---|---|---|---|"]
for k, (wall, cpu, rw, rc) in rows.items():
    out.append(f"| `{k}` | {wall:.3f} | {cpu:.3f} | {rw:,.0f} | {rc:,.0f} | {g / wall:.0f}x |")
if push:
    out += ["", f"Push of one new signed commit on this history through `pushguard serve` (records on): "
            f"`git push` p50 {push[0]} ms, max {push[1]} ms; daemon decision p50 {push[2]} ms; "
            f"record write p50 {push[4]} ms, after the hook has its answer (not in the push latency); "
            f"pushes recorded {push[3]}."]
out.append("")
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
head = "## Signature verification"
if head not in text:
    text = text.rstrip("\n") + "\n\n" + head + "\n\n" + \
        "`bench/verify.sh`: `pushguard verify` against `git log --format=%G?` (one gpg process per commit) on the\n" \
        "same history of gpg-signed commits (RSA-2048 key made at run time), and the push latency of one\n" \
        "signed commit on top of it. Commits per CPU-second of `--jobs 1` is OpenPGP verifications per\n" \
        "second on one core, including reading and parsing each commit.\n\n"
start = text.index(head)
nxt = text.find("\n## ", start + len(head))
end = len(text) if nxt < 0 else nxt + 1
section = text[start:end].rstrip("\n") + "\n\n" + "\n".join(out) + "\n"
text = text[:start] + section + ("\n" + text[end:] if end < len(text) else "")
open(path, "w").write(text)
print(f"appended to {path}")
PY
fi
