#!/usr/bin/env bash
# Run every fuzz target (fuzz/fuzz_targets) for a fixed number of inputs, or one target:
#   bench/fuzz.sh [TARGET] [RUNS]          (RUNS default 200000; FUZZ_SECONDS caps each target)
# Stable toolchain: cargo-fuzz with `--sanitizer none` (coverage-guided libFuzzer, no ASan;
# Rust's own checks still catch panics, overflows in debug assertions and bad indexing).
# Seeds come from the project's own test data; new inputs go to a scratch corpus. Prints, per
# target: inputs executed, execs/s, coverage, crashes. A crash input is kept under
# fuzz/artifacts/TARGET/: turn it into a regression test in the crate that owns the parser.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/fuzz"
RUNS=${2:-200000}
SECONDS_CAP=${FUZZ_SECONDS:-600}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz >&2
fi
targets=${1:-$(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' Cargo.toml | grep -v '^pushguard-fuzz$')}
seeds() { # the project's own inputs for a target
    case "$1" in
        policy) echo "$ROOT/rules/src/policy" "$ROOT/rules/tests" ;;
        gitleaks_config) echo "$ROOT/secrets/src/builtin" ;;
        git_objects) echo "$ROOT/../shared/fixtures/github-web-flow/commits" "$ROOT/crypto/tests/it/data" ;;
        signature | revocations | allowed_signers) echo "$ROOT/crypto/tests/it/data" ;;
        secret_scan) echo "$ROOT/secrets/tests" "$ROOT/docs" ;;
        *) ;;
    esac
}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pushguard-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build --sanitizer none -O >&2
printf '%-16s %10s %10s %8s %8s\n' target inputs execs/s cov crashes
failed=0
for t in $targets; do
    mkdir -p "$scratch/$t"
    dirs=()
    for d in $(seeds "$t"); do [ -d "$d" ] && dirs+=("$d"); done
    log="$scratch/$t.log"
    set +e
    cargo fuzz run --sanitizer none -O "$t" "$scratch/$t" "${dirs[@]}" -- \
        -runs="$RUNS" -max_total_time="$SECONDS_CAP" -max_len=65536 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    printf '%-16s %10s %10s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$crashes"
    if [ "$rc" -ne 0 ]; then
        failed=1
        echo "fuzz: $t stopped with status $rc; its log:" >&2
        tail -40 "$log" >&2
    fi
done
exit "$failed"
