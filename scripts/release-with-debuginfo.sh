#!/usr/bin/env bash
# Release binaries whose line tables live beside them, for symbolising crash reports:
#   scripts/release-with-debuginfo.sh [OUT-DIR]     (default target/release-lines/dist)
# Builds the `release-lines` profile (the release profile with its line tables kept), then
# moves the debug sections of each binary into BIN.debug (objcopy --only-keep-debug) and links
# the stripped binary to it by build id and debuglink. The stripped binaries are what ships (the
# same code as `cargo build --release`); keep the .debug files, e.g. under
# /usr/lib/debug/.build-id/, for gdb, addr2line and backtraces.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
cargo build --profile release-lines -p pushguard
bin_dir="${CARGO_TARGET_DIR:-$ROOT/target}/release-lines"
out=${1:-$bin_dir/dist}
mkdir -p "$out"
for b in pushguard pushguard-hook; do
    cp "$bin_dir/$b" "$out/$b"
    objcopy --only-keep-debug --compress-debug-sections=zlib "$out/$b" "$out/$b.debug"
    objcopy --strip-debug --add-gnu-debuglink="$out/$b.debug" "$out/$b"
    id=$(readelf -n "$out/$b" | sed -n 's/.*Build ID: *//p')
    printf '%-16s %6s KB stripped, %6s KB debug, build id %s\n' "$b" \
        $(( $(stat -c %s "$out/$b") / 1024 )) $(( $(stat -c %s "$out/$b.debug") / 1024 )) "${id:-none}"
done
