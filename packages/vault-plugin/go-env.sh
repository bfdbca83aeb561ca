# Sourced by build.sh, test.sh and scripts/setup: finds a Go toolchain able to build the plugin and
# exports VAULTDIST_GO (its `go` binary). go.mod says `go 1.25.7` (what github.com/hashicorp/vault/sdk
# v0.25.1 needs). Candidates, first usable wins:
#   $VAULTDIST_GO, `go` on PATH, /usr/local/go/bin/go, .tools/go/bin/go (or $VAULTDIST_TOOLS_DIR/go: the
#   toolchain scripts/setup fetches from the Go module proxy when the machine's Go is older, e.g.
#   Debian bookworm's 1.19).
# GOTOOLCHAIN=local: never switch toolchains behind our back (setup fetches one explicitly).
VAULTDIST_GO_MIN=1.25.7
_vd_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export GOTOOLCHAIN=local

# _vd_go_ok GO: true when GO runs and is at least VAULTDIST_GO_MIN.
_vd_go_ok() {
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || v="$("$1" version 2>/dev/null | awk '{print $3}')" || return 1
  v="${v#go}"
  v="${v%%[!0-9.]*}"
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$VAULTDIST_GO_MIN" "$v" | sort -V | head -1)" = "$VAULTDIST_GO_MIN" ]
}

vaultdist_find_go() {
  local c
  for c in "${VAULTDIST_GO:-}" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "${VAULTDIST_TOOLS_DIR:-$_vd_root/.tools}/go/bin/go"; do
    [ -n "$c" ] && [ -x "$c" ] && _vd_go_ok "$c" && { VAULTDIST_GO="$c"; export VAULTDIST_GO; return 0; }
  done
  return 1
}

if ! vaultdist_find_go; then
  if [ "${VAULTDIST_GO_ENV_NO_FAIL:-}" != 1 ]; then
    echo "[vault-plugin] no Go >= $VAULTDIST_GO_MIN found (looked at \$VAULTDIST_GO, PATH, /usr/local/go, .tools/go): run scripts/setup" >&2
    exit 1
  fi
fi
