package registry

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// nodePattern: one path segment; splitNode gives the precise error for what OTP would refuse.
const nodePattern = `(?P<node>[^/]+)`

func pathNodes(b *backend) []*framework.Path {
	return []*framework.Path{{
		Pattern: "clusters/" + clusterPattern + "/nodes/" + nodePattern + "$",
		Fields: map[string]*framework.FieldSchema{
			"cluster":     {Type: framework.TypeString, Description: "Cluster name.", Required: true},
			"node":        {Type: framework.TypeString, Description: "Erlang node name, name@host.", Required: true},
			"port":        {Type: framework.TypeInt, Description: "Distribution port (1..65535)."},
			"host":        {Type: framework.TypeString, Description: "Address peers connect to: DNS name or IPv4. Default: the node name's host."},
			"otp_release": {Type: framework.TypeString, Description: "OTP release of the node, e.g. \"25\"."},
			"serial":      {Type: framework.TypeString, Description: "Serial of the certificate the node serves (hex)."},
			"meta":        {Type: framework.TypeKVPairs, Description: "Free-form string metadata (at most 16 entries)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.register, Summary: "Register a node (returns a renewable lease)."},
			logical.ReadOperation:   &framework.PathOperation{Callback: b.readNode, Summary: "Read one live registration."},
			logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteNode, Summary: "Deregister a node (the node itself) or evict it (an operator)."},
		},
		HelpSynopsis: "Register, read or remove one node of a cluster.",
		HelpDescription: `A write registers name@host with its distribution port and returns a renewable lease
(TTL from the cluster config). Renew it with sys/leases/renew. When the lease expires or is revoked,
or the token that registered is revoked, the registration is removed, unless the node registered
again since (each registration has a new generation, and an old lease removes only its own).
A write from a node outside the cluster's allowed_nodes is refused with 403, and so is one whose
caller is not the node's own identity when the cluster has identity_binding "entity".
A read returns the live registration (404 when there is none). A delete removes it: a node
deregistering on a clean shutdown, or an operator evicting it (the node may register again unless
its token or policy is revoked too).`,
	}}
}

func pathMembers(b *backend) []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "clusters/" + clusterPattern + "/members/?$",
			Fields: map[string]*framework.FieldSchema{
				"cluster": {Type: framework.TypeString, Description: "Cluster name.", Required: true},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: b.readMembers, Summary: "All live members of a cluster."},
				logical.ListOperation: &framework.PathOperation{Callback: b.listMembers, Summary: "Names of the live members."},
			},
			HelpSynopsis: "All live members of a cluster, in one call.",
			HelpDescription: `A read returns {cluster, members: [{node, host, port, otp_release, serial, meta,
registered_at, expires_at, generation}]} sorted by node name; a LIST returns the names in keys.
Registrations whose lease time is over are never returned.`,
		},
		{
			Pattern: "clusters/" + clusterPattern + "/members/" + nodePattern + "$",
			Fields: map[string]*framework.FieldSchema{
				"cluster": {Type: framework.TypeString, Description: "Cluster name.", Required: true},
				"node":    {Type: framework.TypeString, Description: "Erlang node name, name@host.", Required: true},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: &framework.PathOperation{Callback: b.readNode, Summary: "Read one live member."},
			},
			HelpSynopsis:    "Read one live member (the same as a read of clusters/<cluster>/nodes/<node>).",
			HelpDescription: "Read-only, so a policy granting read on members/* lets a node look peers up without letting it write.",
		},
	}
}

func (b *backend) register(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster, node := d.Get("cluster").(string), d.Get("node").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	_, nodeHost, err := splitNode(node)
	if err != nil {
		return badRequest(err)
	}
	portRaw, ok := d.GetOk("port")
	if !ok {
		return badRequest(invalid("port: missing (the node's distribution port, 1..65535)"))
	}
	port := portRaw.(int)
	if err := validatePort(port); err != nil {
		return badRequest(err)
	}
	host := d.Get("host").(string)
	if host == "" {
		host = nodeHost
	} else if err := validateHost(host); err != nil {
		return badRequest(err)
	}
	otpRelease, serial := d.Get("otp_release").(string), d.Get("serial").(string)
	meta := d.Get("meta").(map[string]string)
	if err := validateMeta(otpRelease, serial, meta); err != nil {
		return badRequest(err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	cfg, err := getConfig(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return badRequest(invalid("cluster %q: not configured (an operator writes clusters/%s first)", cluster, cluster))
	}
	if !cfg.allows(node) {
		return codedError(http.StatusForbidden, "node %q: not allowed in cluster %q (allowed_nodes %v)", node, cluster, cfg.AllowedNodes)
	}
	if cfg.binding() == bindingEntity {
		if err := b.checkEntity(req, node); err != nil {
			return codedError(http.StatusForbidden, "node %q: refused in cluster %q (identity_binding entity): %s", node, cluster, err.Error())
		}
	}
	gen, err := nextGeneration(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	now := b.now().UTC().Truncate(time.Second)
	ttl := b.effectiveTTL(cfg.TTL, cfg.MaxTTL)
	r := &registration{
		Node: node, Host: host, Port: port, OTPRelease: otpRelease, Serial: serial, Meta: meta,
		RegisteredAt: now, ExpiresAt: now.Add(ttl), Generation: gen,
	}
	if len(r.Meta) == 0 {
		r.Meta = nil
	}
	if err := putRegistration(ctx, req.Storage, cluster, r); err != nil {
		return nil, err
	}
	resp := b.Secret(secretTypeRegistration).Response(
		map[string]any{
			"cluster":       cluster,
			"node":          r.Node,
			"host":          r.Host,
			"port":          r.Port,
			"registered_at": r.RegisteredAt.Format(time.RFC3339),
			"expires_at":    r.ExpiresAt.Format(time.RFC3339),
			"generation":    r.Generation,
		},
		// Kept by the server with the lease and handed back on renew/revoke. The generation travels as
		// a string: internal data goes through JSON, where a number would come back as a float.
		map[string]any{"cluster": cluster, "node": node, "generation": formatGen(gen)},
	)
	resp.Secret.TTL = cfg.TTL
	resp.Secret.MaxTTL = cfg.MaxTTL
	resp.Secret.Renewable = true
	return resp, nil
}

// effectiveTTL is the TTL the server will grant a new lease: the cluster's ttl, capped by its max_ttl
// and the mount's max lease TTL (framework.CalculateTTL, as the server computes it).
func (b *backend) effectiveTTL(ttl, maxTTL time.Duration) time.Duration {
	if sys := b.System(); sys != nil {
		if got, _, err := framework.CalculateTTL(sys, 0, ttl, 0, maxTTL, 0, time.Time{}); err == nil && got > 0 {
			return got
		}
	}
	return ttl
}

func (b *backend) readNode(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster, node := d.Get("cluster").(string), d.Get("node").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	if _, _, err := splitNode(node); err != nil {
		return badRequest(err)
	}
	r, err := getRegistration(ctx, req.Storage, cluster, node)
	if err != nil {
		return nil, err
	}
	if r == nil || !r.live(b.now()) {
		return nil, nil // 404
	}
	data := r.data()
	data["cluster"] = cluster
	return &logical.Response{Data: data}, nil
}

func (b *backend) deleteNode(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster, node := d.Get("cluster").(string), d.Get("node").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	if _, _, err := splitNode(node); err != nil {
		return badRequest(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// The lease of the deleted registration stays with the server until it ends; its revoke handler
	// then finds nothing of its generation and does nothing, and renewing it fails.
	return nil, req.Storage.Delete(ctx, registrationKey(cluster, node))
}

func (b *backend) liveMembers(ctx context.Context, s logical.Storage, cluster string) ([]*registration, error) {
	nodes, err := listNodes(ctx, s, cluster)
	if err != nil {
		return nil, err
	}
	now := b.now()
	out := make([]*registration, 0, len(nodes))
	for _, n := range nodes {
		r, err := getRegistration(ctx, s, cluster, n)
		if err != nil {
			return nil, err
		}
		if r != nil && r.live(now) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

func (b *backend) readMembers(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster := d.Get("cluster").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	cfg, err := getConfig(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, nil // 404: no such cluster (an empty configured cluster answers members: [])
	}
	rs, err := b.liveMembers(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	members := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		members = append(members, r.data())
	}
	return &logical.Response{Data: map[string]any{"cluster": cluster, "members": members}}, nil
}

func (b *backend) listMembers(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster := d.Get("cluster").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	rs, err := b.liveMembers(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(rs))
	for _, r := range rs {
		keys = append(keys, r.Node)
	}
	return logical.ListResponse(keys), nil
}
