#!/usr/bin/env bash
# A mix release (no hex dependencies, built offline) running mutual-TLS distribution with a
# Vault-issued certificate and no epmd: `bin/app rpc` works over TLS, the certificate is rotated live
# (new files + SIGHUP to the pid in beam.pid, what the renewal agent does) and rpc still works.
# Runs end to end (the test suite runs it); needs VAULT_ADDR/VAULT_TOKEN (or BAO_ADDR/BAO_TOKEN).
#
#   VAULTDIST (default: node packages/cli/bin.js)  VAULTDIST_MOUNT (pki_dist)  DIST_PORT (9100)  WORK (temp dir)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAULTDIST=${VAULTDIST:-"node $ROOT/packages/cli/bin.js"}
MOUNT=${VAULTDIST_MOUNT:-pki_dist}
PORT=${DIST_PORT:-9100}
source "$ROOT/examples/shared/demo-lib.sh"   # WORK, PIDS, cleanup at exit
say() { printf '== %s\n' "$*"; }

# What the node's distribution port serves (a TLS handshake with the node's own client credentials).
served_serial() {
  # -cert_chain: without it s_client sends only the leaf, the node (TLS 1.3) answers with an
  # "Unknown CA" alert after the handshake, and s_client's exit status then depends on timing.
  openssl s_client -connect "127.0.0.1:$PORT" -cert "$VAULTDIST_DIR/bundle.pem" -cert_chain "$VAULTDIST_DIR/bundle.pem" \
      -key "$VAULTDIST_DIR/bundle.pem" -CAfile "$VAULTDIST_DIR/ca.pem" </dev/null 2>/dev/null \
    | openssl x509 -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//'
}

say "1. Vault and the node's directory (certificate, optfile)"
# quick-start settings: any host name (production: --allowed-hosts …). With Vault over HTTPS the renewal
# agent logs in with the node's own certificate (cert auth); over plain HTTP only the token works.
case "${VAULT_ADDR:-${BAO_ADDR:-}}" in https://*) HTTPS=1; AUTH=(--auth cert --cert-mount "$MOUNT-cert") ;; *) HTTPS=0; AUTH=(--auth token) ;; esac
$VAULTDIST init vault --mount "$MOUNT" --root-mount "$MOUNT-root" --allow-any-host "${AUTH[@]}" --policy "$MOUNT-node" | only "change|^→"
export VAULTDIST_DIR="$WORK/certs"
$VAULTDIST init node --name app@127.0.0.1 --dir "$VAULTDIST_DIR" --dist-port "$PORT" --mount "$MOUNT" --cert-auth-mount "$MOUNT-cert" \
  | only "^Node |^  certificate "

say "2. build the release offline: MIX_ENV=prod mix release (no hex dependencies)"
rm -rf "$WORK/src" && mkdir -p "$WORK/src"
# -L: the companion modules in src/ are symlinks to packages/cli/erlang/src in this repository.
(cd "$HERE" && tar --exclude=_build --exclude=deps -chf - .) | tar -xf - -C "$WORK/src"
(cd "$WORK/src" && MIX_ENV=prod mix release --overwrite --quiet)
APP="$WORK/src/_build/prod/rel/app/bin/app"

say "3. start: bin/app start (env.sh.eex adds the optfile, the port, the SIGHUP handler and the pidfile)"
export RELEASE_NODE=app@127.0.0.1 RELEASE_COOKIE=${RELEASE_COOKIE:-example-cookie} VAULTDIST_DIST_PORT="$PORT" VAULTDIST_LISTEN_IP=127.0.0.1
"$APP" start >"$WORK/app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 1 200); do [ -s "$VAULTDIST_DIR/run/beam.pid" ] && break; sleep 0.1; done
[ -s "$VAULTDIST_DIR/run/beam.pid" ] || { echo "the release did not write its pidfile:" >&2; cat "$WORK/app.log" >&2; exit 1; }
echo "app running, beam pid $(cat "$VAULTDIST_DIR/run/beam.pid") (bin/app pid says $("$APP" pid))"

say "4. bin/app rpc over TLS distribution"
"$APP" rpc 'IO.puts(App.describe_link())'
FIRST=$(served_serial)
echo "the dist port serves certificate $FIRST"

if [ "$HTTPS" = 1 ]; then
  say "5. rotate with the renewal agent: vaultdist agent --config \$VAULTDIST_DIR/agent.yaml --once --force"
  echo "   (cert auth with the node's certificate, new key + certificate, atomic swap, SIGHUP to beam.pid, verify)"
  $VAULTDIST agent --config "$VAULTDIST_DIR/agent.yaml" --once --force --no-health \
    | only '"msg":"(vault login succeeded|credential set written|reload triggered|node serves the new certificate)"' \
    | sed -E 's/.*"serial":"([0-9a-f:]+)".*"msg":"([^"]*)".*/agent: \2 (\1)/; s/.*"method":"([a-z]+)".*"msg":"([^"]*)".*/agent: \2 (\1 auth)/'
else
  say "5. rotate: new certificate files, then SIGHUP to the pid in beam.pid (what the renewal agent does)"
  $VAULTDIST issue --dir "$VAULTDIST_DIR" | only "certificate"
  kill -HUP "$(cat "$VAULTDIST_DIR/run/beam.pid")"
fi
for _ in $(seq 1 100); do grep -q "trigger sighup" "$WORK/app.log" && break; sleep 0.1; done
grep -o "vaultdist_reload: TLS distribution certificates reloaded.*" "$WORK/app.log" | head -1
SECOND=$(served_serial)
echo "the dist port serves certificate $SECOND"
if [ -z "$FIRST" ] || [ "$FIRST" = "$SECOND" ]; then echo "UNEXPECTED: serial did not change ($FIRST -> $SECOND)" >&2; exit 1; fi
"$APP" rpc 'IO.puts("after the rotation: " <> App.describe_link())'

say "6. no epmd: nothing listens on 127.0.0.1:4369"
check_epmd app

say "7. bin/app stop (also over TLS distribution)"
"$APP" stop
wait "$APP_PID" || true
PIDS=()   # stopped by bin/app stop: nothing left to kill
say "summary: release served $FIRST, then $SECOND after a live reload; rpc over TLS before and after. OK"
