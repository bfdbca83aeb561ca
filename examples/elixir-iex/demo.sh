#!/usr/bin/env bash
# The article's Elixir flow, made real: iex nodes started with
#   --erl "-start_epmd false" --erl "-erl_epmd_port 14369"  plus the TLS flags and the optfile,
# certificates from Vault. Node.connect succeeds between nodes with certificates, fails for a node
# without one, and -connect_all false keeps the cluster from meshing transitively (three nodes).
# Runs end to end (the test suite runs it); needs VAULT_ADDR/VAULT_TOKEN (or BAO_ADDR/BAO_TOKEN).
#
#   VAULTDIST  the vaultdist command (default: node packages/cli/bin.js)   VAULTDIST_MOUNT (pki_dist)
#   DIST_PORT  (14369, as in the article)   WORK (temp dir)   CONNECT_ALL (false; true shows the contrast)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VAULTDIST=${VAULTDIST:-"node $ROOT/packages/cli/bin.js"}
MOUNT=${VAULTDIST_MOUNT:-pki_dist}
PORT=${DIST_PORT:-14369}
COOKIE=${COOKIE:-example-cookie}
CONNECT_ALL=${CONNECT_ALL:-false}
source "$ROOT/examples/shared/demo-lib.sh"   # WORK, PIDS, cleanup at exit
say() { printf '== %s\n' "$*"; }

# The article's flags, one --erl per flag, plus TLS (-proto_dist vaultdist_tls: the carrier from the
# node's ebin, peers only under the name in their certificate; the optfile) and the interface to
# listen on (every node uses the same port, so one node per IP).
iex_flags() { # iex_flags NAME IP OPTFILE [EBIN]
  local ip_tuple="{${2//./,}}" ebin="${4:-$(dirname "$3")/ebin}"
  printf '%s\0' --name "$1@$2" --cookie "$COOKIE" \
    --erl "-start_epmd false" --erl "-erl_epmd_port $PORT" \
    --erl "-proto_dist vaultdist_tls" --erl "-ssl_dist_optfile $3" --erl "-pa $ebin" \
    --erl "-kernel inet_dist_use_interface $ip_tuple" \
    --erl "-connect_all $CONNECT_ALL"
}

# A long-running iex whose stdin is a FIFO we keep open: `send NAME 'elixir'` types into its shell.
declare -A FD
start_iex() { # start_iex NAME IP OPTFILE
  local fifo="$WORK/$1.stdin" fd
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  FD[$1]=$fd
  mapfile -d '' flags < <(iex_flags "$1" "$2" "$3")
  iex "${flags[@]}" <&"$fd" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  wait_log "$1" "iex($1@$2)1>"
}
send() { printf '%s\n' "$2" >&"${FD[$1]}"; }
wait_log() { # wait_log NAME FIXED-STRING
  for _ in $(seq 1 300); do grep -qF -- "$2" "$WORK/$1.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for \"$2\" in $WORK/$1.log:" >&2; cat "$WORK/$1.log" >&2; return 1
}
show() { grep -F -- "$2" "$WORK/$1.log" | sed 's/^iex([^)]*)[0-9]*> //'; }

say "1. Vault and certificates (one directory per node)"
# quick-start settings: any host name, token auth (production: --allowed-hosts …, --auth approle,cert)
$VAULTDIST init vault --mount "$MOUNT" --root-mount "$MOUNT-root" --allow-any-host --auth token --policy "$MOUNT-node" | only "change|^→"
for n in alice@127.0.0.1 bob@127.0.0.2 carol@127.0.0.3; do
  $VAULTDIST init node --name "$n" --dir "$WORK/${n%@*}" --dist-port "$PORT" --mount "$MOUNT" | only "^Node |^  certificate "
done

say "2. alice: iex --name alice@127.0.0.1 --erl \"-start_epmd false\" --erl \"-erl_epmd_port $PORT\" + TLS flags"
start_iex alice 127.0.0.1 "$WORK/alice/ssl_dist.conf"

say "3. bob connects to alice over mutual TLS"
start_iex bob 127.0.0.2 "$WORK/bob/ssl_dist.conf"
send bob 'IO.puts("bob: Node.connect(:\"alice@127.0.0.1\") = #{Node.connect(:"alice@127.0.0.1")}")'
wait_log bob 'bob: Node.connect'
show bob 'bob: Node.connect'
send bob '[{_, ctrl}] = :erlang.system_info(:dist_ctrl); {:ok, s} = :tls_sender.dist_tls_socket(ctrl); {:ok, [protocol: v]} = :ssl.connection_information(s, [:protocol]); IO.puts("bob: the link to alice is #{v}")'
wait_log bob 'bob: the link'
show bob 'bob: the link'

say "4. carol connects to alice too; with -connect_all $CONNECT_ALL she does not mesh with bob"
start_iex carol 127.0.0.3 "$WORK/carol/ssl_dist.conf"
send carol 'IO.puts("carol: Node.connect(:\"alice@127.0.0.1\") = #{Node.connect(:"alice@127.0.0.1")}")'
wait_log carol 'carol: Node.connect'
show carol 'carol: Node.connect'
# alice knows bob (asked over the new connection); carol still only knows alice. With CONNECT_ALL=true
# global meshes carol with bob (:global.sync() waits for that; with -connect_all false it is not used).
send carol 'IO.puts("carol: alice knows #{inspect(:rpc.call(:"alice@127.0.0.1", Node, :list, []))}")'
wait_log carol 'carol: alice knows'
show carol 'carol: alice knows'
[ "$CONNECT_ALL" = true ] && send carol ':global.sync()'
send carol 'IO.puts("carol: Node.list() = #{inspect(Node.list())}")'
wait_log carol 'carol: Node.list()'
show carol 'carol: Node.list()'
send bob 'IO.puts("bob: Node.list() = #{inspect(Node.list())}")'
wait_log bob 'bob: Node.list()'
show bob 'bob: Node.list()'
send alice 'IO.puts("alice: Node.list() = #{inspect(Enum.sort(Node.list()))}")'
wait_log alice 'alice: Node.list()'
show alice 'alice: Node.list()'

say "5. eve has TLS flags and trusts the CA, but has no certificate: refused"
mkdir -p "$WORK/eve"
cat >"$WORK/eve/ssl_dist.conf" <<EOF
[{server, [{cacertfile, "$WORK/alice/ca.pem"}, {verify, verify_peer}, {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}]},
 {client, [{cacertfile, "$WORK/alice/ca.pem"}, {verify, verify_peer}, {versions, ['tlsv1.3']}]}].
EOF
mapfile -d '' flags < <(iex_flags eve 127.0.0.4 "$WORK/eve/ssl_dist.conf" "$WORK/alice/ebin")
printf '%s\n' 'IO.puts("eve: Node.connect(:\"alice@127.0.0.1\") = #{Node.connect(:"alice@127.0.0.1")}")' \
  | iex "${flags[@]}" >"$WORK/eve.log" 2>&1
show eve 'eve: Node.connect'
wait_log alice 'Certificate required'
echo "alice logged: $(grep -o 'generated SERVER ALERT: Fatal - Certificate required' "$WORK/alice.log" | head -1)"

say "6. no epmd: nothing listens on 127.0.0.1:4369"
check_epmd

for n in alice bob carol; do send "$n" 'System.halt()'; done
grep -q 'bob: Node.connect(:"alice@127.0.0.1") = true' "$WORK/bob.log"
grep -q 'eve: Node.connect(:"alice@127.0.0.1") = false' "$WORK/eve.log"
say "summary: iex nodes connected over mutual TLS without epmd; the certificate-less node was refused. OK"
