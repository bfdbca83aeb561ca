#!/usr/bin/env bash
# Builds the vaultdist registry plugin into packages/vault-plugin/dist/ (git-ignored) and prints
#   <sha256>  <path>
# (also written to dist/vaultdist.sha256), the value to register the binary with:
#   plugin "secret" "vaultdist" { command = "vaultdist" version = "<version>" sha256sum = "<sha256>" }
#
# Usage: build.sh [--version vX.Y.Z] [--out DIR]
#   --version  semantic version compiled in (must equal the catalog entry's version); default: VERSION file
#   --out      output directory; default packages/vault-plugin/dist
# The build is reproducible (-trimpath, no VCS stamp, no cgo): the same source, version and Go release
# give the same sha256. Go is found by go-env.sh (see there); scripts/setup installs it when missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="$(cat "$HERE/VERSION")"
OUT="$HERE/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (expected --version vX.Y.Z, --out DIR)" >&2; exit 2 ;;
  esac
done
if ! [[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "build.sh: --version $VERSION: expected a semantic version like v0.1.0" >&2
  exit 2
fi
# shellcheck source=go-env.sh
. "$HERE/go-env.sh"
mkdir -p "$OUT"
cd "$HERE"
# One build per output directory at a time (test runs started together may all find the binary
# stale): the binary, its .sha256 and .version are written under the lock, the binary by rename.
exec 9>"$OUT/.build.lock"
flock 9
CGO_ENABLED=0 "$VAULTDIST_GO" build -trimpath -buildvcs=false \
  -ldflags "-s -w -buildid= -X github.com/vaultdist/vaultdist/packages/vault-plugin/registry.Version=$VERSION" \
  -o "$OUT/vaultdist.tmp.$$" .
mv -f "$OUT/vaultdist.tmp.$$" "$OUT/vaultdist"
sum="$(sha256sum "$OUT/vaultdist" | cut -d' ' -f1)"
printf '%s\n' "$sum" >"$OUT/vaultdist.sha256"
printf '%s\n' "$VERSION" >"$OUT/vaultdist.version"
printf '%s  %s\n' "$sum" "$OUT/vaultdist"
