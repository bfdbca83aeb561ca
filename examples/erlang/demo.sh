#!/usr/bin/env bash
# Plain `erl -args_file` nodes with Vault-issued certificates, mutual-TLS distribution and no epmd.
# Runs the README's steps end to end (the test suite runs this script). Needs a Vault/OpenBao in
# VAULT_ADDR/VAULT_TOKEN (or BAO_ADDR/BAO_TOKEN).
#
#   VAULTDIST       the vaultdist command (default: this repository's CLI, node packages/cli/bin.js; build it first)
#   VAULTDIST_MOUNT PKI mount (default pki_dist)    DIST_PORT   distribution port (default 9100)
#   WORK            where node directories go (default: a new temp dir, removed at the end)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAULTDIST=${VAULTDIST:-"node $ROOT/packages/cli/bin.js"}
MOUNT=${VAULTDIST_MOUNT:-pki_dist}
PORT=${DIST_PORT:-9100}
COOKIE=${COOKIE:-example-cookie}
source "$ROOT/examples/shared/demo-lib.sh"   # WORK, PIDS, cleanup at exit
say() { printf '== %s\n' "$*"; }

wait_file() { # wait_file FILE WHAT
  for _ in $(seq 1 150); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $2 ($1)" >&2; return 1
}

say "1. Vault: PKI mount $MOUNT with a root CA and a node role"
# quick-start settings: any host name, token auth (production: --allowed-hosts …, --auth approle,cert)
$VAULTDIST init vault --mount "$MOUNT" --root-mount "$MOUNT-root" --allow-any-host --auth token --policy "$MOUNT-node" | only "change|^→"

say "2. one directory per node: key generated locally, CSR signed by Vault, optfile, vm.args, companion modules"
$VAULTDIST init node --name alice@127.0.0.1 --dir "$WORK/alice" --dist-port "$PORT" --mount "$MOUNT" | only "^Node |^  certificate "
$VAULTDIST init node --name bob@127.0.0.2 --dir "$WORK/bob" --dist-port "$PORT" --mount "$MOUNT" | only "^Node |^  certificate "
mkdir -p "$WORK/ebin" && erlc -o "$WORK/ebin" "$HERE/src/example_peer.erl"

say "3. start alice: erl -args_file $WORK/alice/vm.args"
erl -args_file "$WORK/alice/vm.args" -setcookie "$COOKIE" -noshell -noinput >"$WORK/alice.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/alice/run/beam.pid" "alice to boot"

say "4. bob connects over mutual TLS"
erl -args_file "$WORK/bob/vm.args" -setcookie "$COOKIE" -noshell -pa "$WORK/ebin" -s example_peer check alice@127.0.0.1 | tee "$WORK/bob-1.out"
FIRST=$(sed -n 's/.*presented certificate serial //p' "$WORK/bob-1.out")

say "5. a node without a certificate is refused"
mkdir -p "$WORK/mallory"
cat >"$WORK/mallory/ssl_dist.conf" <<EOF
%% trusts the CA but has no certificate of its own
[{server, [{cacertfile, "$WORK/alice/ca.pem"}, {verify, verify_peer}, {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}]},
 {client, [{cacertfile, "$WORK/alice/ca.pem"}, {verify, verify_peer}, {versions, ['tlsv1.3']}]}].
EOF
if erl -name mallory@127.0.0.3 -setcookie "$COOKIE" -noshell -proto_dist inet_tls -ssl_dist_optfile "$WORK/mallory/ssl_dist.conf" \
     -start_epmd false -epmd_module vaultdist_epmd -erl_epmd_port "$PORT" -kernel inet_dist_use_interface '{127,0,0,3}' \
     -pa "$WORK/alice/ebin" -pa "$WORK/ebin" -s example_peer check alice@127.0.0.1; then
  echo "UNEXPECTED: mallory connected" >&2; exit 1
fi

say "6. no epmd: nothing listens on 127.0.0.1:4369"
check_epmd alice bob

say "7. rotate alice's certificate and reload it live (SIGHUP to the pid in beam.pid)"
$VAULTDIST issue --dir "$WORK/alice" | only "certificate"
kill -HUP "$(cat "$WORK/alice/run/beam.pid")"
for _ in $(seq 1 100); do grep -q "trigger sighup" "$WORK/alice.log" && break; sleep 0.1; done
grep "trigger sighup" "$WORK/alice.log"
erl -args_file "$WORK/bob/vm.args" -setcookie "$COOKIE" -noshell -pa "$WORK/ebin" -s example_peer check alice@127.0.0.1 | tee "$WORK/bob-2.out"
SECOND=$(sed -n 's/.*presented certificate serial //p' "$WORK/bob-2.out")
if [ -z "$FIRST" ] || [ "$FIRST" = "$SECOND" ]; then echo "UNEXPECTED: serial did not change ($FIRST -> $SECOND)" >&2; exit 1; fi
kill -0 "${PIDS[0]}" && echo "alice is still running (pid $(cat "$WORK/alice/run/beam.pid"))"

say "summary: alice served $FIRST, then $SECOND after a live reload; a certificate-less node was refused; no epmd. OK"
