#!/usr/bin/env bash
# Makes sure a Go able to build the plugin (>= 1.25.7, see go-env.sh) is on this machine; called by
# scripts/setup. Idempotent: with a usable Go it only says which one.
#   1. A usable Go already (VAULTDIST_GO, PATH, /usr/local/go, .tools/go): done.
#   2. No `go` at all: Debian's `golang-go` with apt-get (as root; otherwise print the command, exit 1).
#   3. That Go is older (Debian bookworm's is 1.19): fetch the toolchain module
#      golang.org/toolchain@v0.0.1-<VAULTDIST_GO_TOOLCHAIN>.linux-<arch> from the Go module proxy with
#      `go mod download` (works with Debian's 1.19, which predates GOTOOLCHAIN; it is the very module a
#      Go >= 1.21 fetches for `GOTOOLCHAIN=<version>`), unpack it into .tools/go and use that.
# VAULTDIST_GO_TOOLCHAIN: the toolchain to fetch, default go1.27.3 (the release this workplace's module
# proxy serves for that; any release >= 1.25.7 builds the plugin).
# Options: --fetch-toolchain  skip step 1 and 2 and fetch into VAULTDIST_TOOLS_DIR with the Go given by
#          VAULTDIST_GO_BOOTSTRAP (a dry check of step 3 on a machine that has a newer Go).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLCHAIN="${VAULTDIST_GO_TOOLCHAIN:-go1.27.3}"
TOOLS="${VAULTDIST_TOOLS_DIR:-$ROOT/.tools}"
say() { printf '[setup] %s\n' "$*"; }
force=0
[ "${1:-}" = --fetch-toolchain ] && force=1

if [ "$force" = 0 ]; then
  VAULTDIST_GO_ENV_NO_FAIL=1 . "$HERE/go-env.sh"
  if [ -n "${VAULTDIST_GO:-}" ]; then
    say "go: $("$VAULTDIST_GO" version) ($VAULTDIST_GO)"
    exit 0
  fi
  # 2. Debian's Go when there is none.
  if ! command -v go >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      say "installing Debian golang-go (no Go on this machine)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends golang-go ca-certificates >/dev/null
    else
      echo "[setup] Go missing (needed to build packages/vault-plugin). Run as root:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends golang-go" >&2
      exit 1
    fi
  fi
  BOOT="$(command -v go)"
else
  BOOT="${VAULTDIST_GO_BOOTSTRAP:?--fetch-toolchain needs VAULTDIST_GO_BOOTSTRAP=/path/to/go}"
fi

# 3. A newer toolchain from the Go module proxy, fetched with whatever Go we have.
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "[setup] no Go toolchain module for $(uname -m)" >&2; exit 1 ;;
esac
mod="golang.org/toolchain@v0.0.1-${TOOLCHAIN}.linux-${arch}"
say "fetching $mod from the Go module proxy with $("$BOOT" version)"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# A throw-away module cache, outside any module (GOFLAGS cleared: -mod=… is refused there).
dir="$(cd "$work" && GOFLAGS= GOPATH="$work/gopath" GOMODCACHE="$work/gopath/pkg/mod" GO111MODULE=on GOTOOLCHAIN=local \
  "$BOOT" mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ] || [ ! -f "$dir/bin/go" ]; then
  echo "[setup] $mod: download gave no toolchain (is the Go module proxy reachable? GOPROXY=$("$BOOT" env GOPROXY))" >&2
  exit 1
fi
rm -rf "$TOOLS/go.new"
mkdir -p "$TOOLS"
cp -R "$dir" "$TOOLS/go.new"
chmod -R u+w "$TOOLS/go.new"
# Module zips carry no file modes: make the commands executable again (what cmd/go does after a
# GOTOOLCHAIN download).
chmod +x "$TOOLS/go.new/bin/"* "$TOOLS/go.new/pkg/tool/"*/*
rm -rf "$TOOLS/go"
mv "$TOOLS/go.new" "$TOOLS/go"
say "go: $("$TOOLS/go/bin/go" version) ($TOOLS/go/bin/go)"
