// Package registry is the vaultdist node registry: an authenticated replacement for epmd's
// host-local, unauthenticated name → port table. Nodes register `name@host → port` under a cluster,
// bound to a lease; everyone allowed to read the cluster gets all live members in one call.
//
// Who may register which name is decided by the server's ACL on the node's own path
// (`clusters/+/nodes/<name@host>`, one policy per node, see the project's identity model); the plugin
// additionally validates names as OTP accepts them and checks them against the cluster's
// `allowed_nodes` patterns.
package registry

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// Version is the plugin's semantic version, reported to the server as the running version. The build
// sets it with `-ldflags "-X github.com/vaultdist/vaultdist/packages/vault-plugin/registry.Version=v0.1.0"`;
// it must equal the `version` of the server's catalog entry.
var Version = "v0.1.0"

const backendHelp = `
The vaultdist registry: an authenticated node registry that replaces epmd for Erlang/Elixir
clusters using vaultdist. An operator configures a cluster (clusters/<cluster>); each node registers
its distribution port (clusters/<cluster>/nodes/<name@host>) and gets a lease that it renews;
members are read in one call (clusters/<cluster>/members). Lease expiry, lease revocation and
revocation of the registering token remove the registration.
`

// backend is the registry. mu serialises every read-modify-write of a registration (register, renew,
// revoke, delete, cleanup), so a revoke of an old lease never races a re-registration. Writes only
// happen on the active server (standbys forward them), so a process-local lock is enough.
type backend struct {
	*framework.Backend
	mu  sync.Mutex
	now func() time.Time
}

// Factory creates the backend; it is what the server calls for each mount.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := newBackend(time.Now)
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func newBackend(now func() time.Time) *backend {
	b := &backend{now: now}
	b.Backend = &framework.Backend{
		Help:           strings.TrimSpace(backendHelp),
		BackendType:    logical.TypeLogical,
		RunningVersion: Version,
		PathsSpecial: &logical.Paths{
			// Registrations are rebuilt by the nodes' agents; nothing here needs seal wrapping, and
			// nothing is local to a performance secondary.
			SealWrapStorage: []string{},
		},
		Paths: framework.PathAppend(
			pathClusters(b),
			pathNodes(b),
			pathMembers(b),
		),
		Secrets:      []*framework.Secret{secretRegistration(b)},
		PeriodicFunc: b.periodic,
	}
	return b
}

// periodic removes registrations whose lease time is over. Lease expiry already calls the secret's
// revoke handler; this catches what that path can miss (a lease revoked with -force, a revoke that
// failed while the mount was being upgraded, entries of a cluster whose config was deleted). The
// server calls it about once a minute.
func (b *backend) periodic(ctx context.Context, req *logical.Request) error {
	_, err := b.cleanup(ctx, req.Storage)
	return err
}

func (b *backend) cleanup(ctx context.Context, s logical.Storage) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	clusters, err := s.List(ctx, memberPrefix)
	if err != nil {
		return 0, err
	}
	now := b.now()
	removed := 0
	for _, c := range clusters {
		cluster := strings.TrimSuffix(c, "/")
		cfg, err := getConfig(ctx, s, cluster)
		if err != nil {
			return removed, err
		}
		nodes, err := s.List(ctx, memberPrefix+cluster+"/")
		if err != nil {
			return removed, err
		}
		for _, n := range nodes {
			r, err := getRegistration(ctx, s, cluster, n)
			if err != nil {
				return removed, err
			}
			if r == nil {
				continue
			}
			if cfg == nil || !r.live(now) {
				if err := s.Delete(ctx, registrationKey(cluster, n)); err != nil {
					return removed, err
				}
				removed++
			}
		}
	}
	return removed, nil
}
