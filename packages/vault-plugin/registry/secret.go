package registry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

const secretTypeRegistration = "registration"

func secretRegistration(b *backend) *framework.Secret {
	return &framework.Secret{
		Type: secretTypeRegistration,
		Fields: map[string]*framework.FieldSchema{
			"node": {Type: framework.TypeString, Description: "The registered node."},
		},
		Renew:  b.renewRegistration,
		Revoke: b.revokeRegistration,
	}
}

func formatGen(g uint64) string { return strconv.FormatUint(g, 10) }

// leaseRef is what a lease carries in its internal data.
type leaseRef struct {
	cluster, node, generation string
}

func refOf(s *logical.Secret) (leaseRef, error) {
	if s == nil {
		return leaseRef{}, fmt.Errorf("no lease in the request")
	}
	get := func(k string) (string, error) {
		switch v := s.InternalData[k].(type) {
		case string:
			return v, nil
		case float64: // tolerated for robustness; registrations always write strings
			return strconv.FormatUint(uint64(v), 10), nil
		default:
			return "", fmt.Errorf("lease internal data: %s missing", k)
		}
	}
	var r leaseRef
	var err error
	if r.cluster, err = get("cluster"); err != nil {
		return r, err
	}
	if r.node, err = get("node"); err != nil {
		return r, err
	}
	if r.generation, err = get("generation"); err != nil {
		return r, err
	}
	return r, nil
}

// leasedRegistration returns the registration the request's lease was issued for, or nil when it is
// gone or was replaced by a newer registration of the same node (another generation). Call with b.mu held.
func (b *backend) leasedRegistration(ctx context.Context, req *logical.Request) (leaseRef, *registration, error) {
	ref, err := refOf(req.Secret)
	if err != nil {
		return ref, nil, err
	}
	r, err := getRegistration(ctx, req.Storage, ref.cluster, ref.node)
	if err != nil || r == nil || formatGen(r.Generation) != ref.generation {
		return ref, nil, err
	}
	return ref, r, nil
}

// renewRegistration extends the lease and the registration's expires_at, if the registration the
// lease was issued for is still there. A lease whose registration was deleted, evicted or replaced by
// a newer registration of the same node cannot be renewed (400): the caller must register again.
func (b *backend) renewRegistration(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref, r, err := b.leasedRegistration(ctx, req)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("registration %s of node %q in cluster %q is gone (deregistered, evicted or replaced): register again", ref.generation, ref.node, ref.cluster), logical.ErrInvalidRequest
	}
	cfg, err := getConfig(ctx, req.Storage, ref.cluster)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return logical.ErrorResponse("cluster %q: no longer configured", ref.cluster), logical.ErrInvalidRequest
	}
	// Compute the TTL the server will grant (the same function it applies to our answer), so that
	// expires_at matches the lease.
	ttl := cfg.TTL
	if sys := b.System(); sys != nil {
		got, _, err := framework.CalculateTTL(sys, req.Secret.Increment, cfg.TTL, 0, cfg.MaxTTL, 0, req.Secret.IssueTime)
		if err != nil {
			return nil, err
		}
		ttl = got
	}
	r.ExpiresAt = b.now().UTC().Truncate(time.Second).Add(ttl)
	if err := putRegistration(ctx, req.Storage, ref.cluster, r); err != nil {
		return nil, err
	}
	return framework.LeaseExtend(cfg.TTL, cfg.MaxTTL, b.System())(ctx, req, d)
}

// revokeRegistration runs on lease expiry, `lease revoke`, and revocation of the token that
// registered. It removes the registration only if it is still the one this lease was issued for.
func (b *backend) revokeRegistration(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref, r, err := b.leasedRegistration(ctx, req)
	if err != nil || r == nil {
		return nil, err
	}
	return nil, req.Storage.Delete(ctx, registrationKey(ref.cluster, ref.node))
}
