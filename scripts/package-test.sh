#!/usr/bin/env bash
# Builds the Debian package and tests it on this machine, as root (CI does this):
#   scripts/package-test.sh
# cargo deb (installed from crates.io if missing) packs the release binaries; dpkg installs the
# package; the checks below run against what it installed: the system user and state directory,
# the conffile, the systemd unit (systemd-analyze verify; the unit itself is not started here),
# binaries without debug info, and a daemon started as the package's user with the unit's
# arguments (repositories and socket in a temp dir) that installs its hook, judges real pushes
# and passes `pushguard doctor`. Then the package is purged. Prints "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ "$(id -u)" -eq 0 ] || { echo "package-test: run as root (it installs a package)" >&2; exit 2; }
passed=0
failed=0
check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@" >/tmp/package-test.out 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' /tmp/package-test.out | tail -20
    fi
}
set -e
if ! cargo deb --version >/dev/null 2>&1; then
    echo "package-test: installing cargo-deb" >&2
    cargo install --locked cargo-deb >&2
fi
cargo build --release -p pushguard
deb=$(cargo deb -p pushguard --no-build 2>/dev/null | tail -1)
[ -f "$deb" ] || { echo "package-test: cargo deb made no package" >&2; exit 2; }
echo "package: $deb ($(( $(stat -c %s "$deb") / 1024 )) KB)"
set +e

work=$(mktemp -d /tmp/pushguard-package.XXXXXX)
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    dpkg -P pushguard >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

check "dpkg installs the package" dpkg -i "$deb"
check "binaries on PATH" test -x /usr/bin/pushguard -a -x /usr/bin/pushguard-hook
check "a pushguard system user" sh -c 'getent passwd pushguard | grep -q nologin'
check "state directory private to it" sh -c '[ "$(stat -c %U:%a /var/lib/pushguard)" = pushguard:700 ]'
check "the policy is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" pushguard | grep -q /etc/pushguard/policy.yaml'
check "the installed policy is valid" /usr/bin/pushguard policy check /etc/pushguard/policy.yaml
unit=$(dpkg -L pushguard | grep '/pushguard.service$' | head -1)
check "a systemd unit is installed" test -f "$unit"
check "systemd-analyze verify accepts the unit" systemd-analyze verify "$unit"
check "the unit is sandboxed" sh -c "grep -q '^NoNewPrivileges=yes' '$unit' && grep -q '^ProtectSystem=strict' '$unit' && grep -q '^ReadWritePaths=/var/lib/pushguard /srv/git' '$unit' && grep -q '^PrivateTmp=yes' '$unit'"
# (.debug_gdb_scripts is not debug info: 34 bytes naming Rust's gdb pretty-printers.)
check "no debug info in the shipped binaries" sh -c '! readelf -SW /usr/bin/pushguard /usr/bin/pushguard-hook | grep -E "\.debug_(info|line|str|abbrev|ranges)"'
for b in pushguard pushguard-hook; do
    echo "     /usr/bin/$b: $(( $(stat -c %s /usr/bin/$b) / 1024 )) KB"
done

# The daemon as the package's user, with the unit's arguments but repositories and socket here.
mkdir -p "$work/repos" "$work/run"
git init -q --bare -b main "$work/repos/app.git"
chown -R pushguard:pushguard "$work"
chmod 755 "$work"
runuser -u pushguard -- /usr/bin/pushguard serve --repos "$work/repos" \
    --policy /etc/pushguard/policy.yaml --state-dir /var/lib/pushguard \
    --socket "$work/run/pushguard.sock" --scan-interval 0.2 >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
    [ -S "$work/run/pushguard.sock" ] && grep -q pushguard-hook "$work/repos/app.git/hooks/pre-receive" 2>/dev/null && break
    sleep 0.1
done
check "the daemon installs its hook" grep -q /usr/bin/pushguard-hook "$work/repos/app.git/hooks/pre-receive"
as_user() { runuser -u pushguard -- env HOME="$work" GIT_CONFIG_NOSYSTEM=1 PUSHGUARD_USER=alice "$@"; }
as_user git clone -q "$work/repos/app.git" "$work/client" 2>/dev/null
as_user git -C "$work/client" -c user.email=a@example.org -c user.name=A commit -q --allow-empty -m one
check "a push is judged and accepted" as_user git -C "$work/client" push -q origin HEAD:main
as_user git -C "$work/client" -c user.email=a@example.org -c user.name=A commit -q --amend --allow-empty -m rewritten
check "a force-push to the default branch is rejected" sh -c "! runuser -u pushguard -- env HOME='$work' GIT_CONFIG_NOSYSTEM=1 PUSHGUARD_USER=alice git -C '$work/client' push -q -f origin HEAD:main 2>'$work/push.err' && grep -q non_fast_forward '$work/push.err'"
check "pushguard doctor passes" runuser -u pushguard -- /usr/bin/pushguard doctor --repos "$work/repos" \
    --policy /etc/pushguard/policy.yaml --state-dir /var/lib/pushguard --socket "$work/run/pushguard.sock"
cat /tmp/package-test.out | sed 's/^/     /'
kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
check "dpkg removes it" dpkg -r pushguard
check "the conffile stays until purge" test -f /etc/pushguard/policy.yaml
check "purge removes the user and its state" sh -c 'dpkg -P pushguard && ! getent passwd pushguard && [ ! -e /var/lib/pushguard ] && [ ! -e /etc/pushguard/policy.yaml ]'
echo "package-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
