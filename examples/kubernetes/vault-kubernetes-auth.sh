#!/bin/sh
# One-time Vault/OpenBao setup for the Kubernetes example (admin token in VAULT_TOKEN; `bao` works the
# same as `vault`: VAULT=bao). First the PKI side and the node policy, from vaultdist:
#
#   vaultdist init vault --mount pki_dist --allowed-hosts '*.app.app.svc.cluster.local'
#
# (creates the role erlang-node and the policy vaultdist-node). Then Kubernetes auth: pods running as
# service account app in namespace app get a token with that policy.
set -eu
VAULT=${VAULT:-vault}
MOUNT=${K8S_AUTH_MOUNT:-kubernetes}
POLICY=${VAULTDIST_POLICY:-vaultdist-node}

$VAULT auth list | grep -q "^$MOUNT/" || $VAULT auth enable -path="$MOUNT" kubernetes
# Vault running inside the cluster reviews tokens with its own service account (give that account the
# system:auth-delegator ClusterRole). From outside the cluster pass the API server's CA and a reviewer
# token: K8S_CONFIG_ARGS='kubernetes_ca_cert=@ca.crt token_reviewer_jwt=@reviewer.jwt disable_local_ca_jwt=true'
# shellcheck disable=SC2086
$VAULT write "auth/$MOUNT/config" kubernetes_host="${K8S_HOST:-https://kubernetes.default.svc:443}" ${K8S_CONFIG_ARGS:-}
$VAULT write "auth/$MOUNT/role/app" \
  bound_service_account_names=app \
  bound_service_account_namespaces=app \
  token_policies="$POLICY" \
  token_ttl=1h
