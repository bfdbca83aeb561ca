package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// clusterPattern is what a cluster segment may hold in a path; validateCluster gives the error text.
const clusterPattern = `(?P<cluster>[^/]+)`

func pathClusters(b *backend) []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "clusters/?$",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: b.listClusters, Summary: "List the configured clusters."},
			},
			HelpSynopsis:    "List the configured clusters.",
			HelpDescription: "LIST clusters/ returns the names of every configured cluster in `keys`.",
		},
		{
			Pattern: "clusters/" + clusterPattern + "$",
			Fields: map[string]*framework.FieldSchema{
				"cluster": {Type: framework.TypeString, Description: "Cluster name: letters, digits, _, . and -.", Required: true},
				"allowed_nodes": {
					Type:        framework.TypeCommaStringSlice,
					Description: "Node names allowed to register, as patterns where * matches any run of characters (e.g. \"*@10.0.0.*\"). Default [\"*\"]: any name the token's policy lets it write.",
					Default:     []string{"*"},
				},
				"ttl":     {Type: framework.TypeDurationSecond, Description: "Registration lease TTL (renew before it ends).", Default: int(defaultTTL.Seconds())},
				"max_ttl": {Type: framework.TypeDurationSecond, Description: "Longest a registration lives without registering again.", Default: int(defaultMaxTTL.Seconds())},
				"identity_binding": {
					Type:          framework.TypeString,
					Description:   `"acl": the server's ACL alone decides who registers which name; "entity": the caller's entity must also be the node's own (AppRole role_name or cert-auth cert_name vaultdist-<slug>).`,
					Default:       bindingACL,
					AllowedValues: []any{bindingACL, bindingEntity},
				},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: b.readCluster, Summary: "Read a cluster's configuration."},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.writeCluster, Summary: "Create or replace a cluster's configuration."},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteCluster, Summary: "Delete a cluster and all its registrations."},
			},
			HelpSynopsis: "Configure a cluster: who may register and for how long.",
			HelpDescription: `A write creates or replaces the configuration (fields left out take their defaults):
  allowed_nodes  patterns of node names that may register (default ["*"])
  ttl            the registration lease TTL (default 60s)
  max_ttl        the longest a registration lives without registering again (default 10m)
  identity_binding  "acl" (default): the ACL on clusters/+/nodes/<node> alone decides;
                 "entity": the caller's identity entity must also be the node's own (an AppRole
                 login with role_name vaultdist-<slug>, or a cert-auth login with cert_name
                 vaultdist-<slug>, slug as the vaultdist SDK's nodeSlug)
A delete removes the configuration and every registration of the cluster.
Nodes must register at clusters/<cluster>/nodes/<name@host>; an unconfigured cluster refuses them.`,
		},
	}
}

func (b *backend) listClusters(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, configPrefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(keys), nil
}

func (b *backend) readCluster(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster := d.Get("cluster").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	cfg, err := getConfig(ctx, req.Storage, cluster)
	if err != nil || cfg == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"cluster":          cluster,
		"allowed_nodes":    cfg.AllowedNodes,
		"ttl":              int64(cfg.TTL.Seconds()),
		"max_ttl":          int64(cfg.MaxTTL.Seconds()),
		"identity_binding": cfg.binding(),
	}}, nil
}

func (b *backend) writeCluster(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster := d.Get("cluster").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	allowed := d.Get("allowed_nodes").([]string)
	if len(allowed) == 0 {
		return badRequest(invalid("allowed_nodes: empty (use [\"*\"] to allow any name the policies allow)"))
	}
	for _, p := range allowed {
		if err := validatePattern(p); err != nil {
			return badRequest(err)
		}
	}
	binding := d.Get("identity_binding").(string)
	if binding != bindingACL && binding != bindingEntity {
		return badRequest(invalid("identity_binding %q: \"acl\" or \"entity\"", binding))
	}
	ttl := time.Duration(d.Get("ttl").(int)) * time.Second
	maxTTL := time.Duration(d.Get("max_ttl").(int)) * time.Second
	switch {
	case ttl < time.Second:
		return badRequest(invalid("ttl %s: must be at least 1s", ttl))
	case maxTTL < ttl:
		return badRequest(invalid("max_ttl %s: shorter than ttl %s", maxTTL, ttl))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := putConfig(ctx, req.Storage, cluster, &clusterConfig{AllowedNodes: allowed, TTL: ttl, MaxTTL: maxTTL, IdentityBinding: binding}); err != nil {
		return nil, err
	}
	var warnings []string
	if sys := b.System(); sys != nil && sys.MaxLeaseTTL() > 0 && maxTTL > sys.MaxLeaseTTL() {
		warnings = append(warnings, fmt.Sprintf("max_ttl %s is longer than the mount's max lease TTL %s, which caps it", maxTTL, sys.MaxLeaseTTL()))
	}
	if warnings == nil {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

func (b *backend) deleteCluster(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	cluster := d.Get("cluster").(string)
	if err := validateCluster(cluster); err != nil {
		return badRequest(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	nodes, err := listNodes(ctx, req.Storage, cluster)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if err := req.Storage.Delete(ctx, registrationKey(cluster, n)); err != nil {
			return nil, err
		}
	}
	return nil, req.Storage.Delete(ctx, configPrefix+cluster)
}

// badRequest turns a validation error into a 400 `{"errors": [msg]}`; other errors pass through.
func badRequest(err error) (*logical.Response, error) {
	var v *validationError
	if errors.As(err, &v) {
		return logical.ErrorResponse(v.msg), logical.ErrInvalidRequest
	}
	return nil, err
}

// codedError is a 4xx other than 400 with a message (e.g. 403 for a name outside allowed_nodes).
func codedError(status int, format string, args ...any) (*logical.Response, error) {
	return nil, logical.CodedError(status, fmt.Sprintf(format, args...))
}
