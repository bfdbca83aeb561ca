package registry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// Storage layout (all under the mount's own storage):
//
//	config/<cluster>             clusterConfig
//	members/<cluster>/<node>     registration
//	generation/<cluster>         the cluster's last registration generation (never reset, see nextGeneration)
const (
	configPrefix     = "config/"
	memberPrefix     = "members/"
	generationPrefix = "generation/"
)

type clusterConfig struct {
	AllowedNodes []string      `json:"allowed_nodes"`
	TTL          time.Duration `json:"ttl"`
	MaxTTL       time.Duration `json:"max_ttl"`
	// IdentityBinding: "acl" (or empty, configs written before it existed) or "entity"; see identity.go.
	IdentityBinding string `json:"identity_binding,omitempty"`
}

func (c *clusterConfig) binding() string {
	if c.IdentityBinding == "" {
		return bindingACL
	}
	return c.IdentityBinding
}

const (
	defaultTTL    = 60 * time.Second
	defaultMaxTTL = 10 * time.Minute
)

func (c *clusterConfig) allows(node string) bool {
	for _, p := range c.AllowedNodes {
		if globMatch(p, node) {
			return true
		}
	}
	return false
}

type registration struct {
	Node         string            `json:"node"`
	Host         string            `json:"host"`
	Port         int               `json:"port"`
	OTPRelease   string            `json:"otp_release,omitempty"`
	Serial       string            `json:"serial,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
	RegisteredAt time.Time         `json:"registered_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Generation   uint64            `json:"generation"`
}

func (r *registration) live(now time.Time) bool { return now.Before(r.ExpiresAt) }

func (r *registration) data() map[string]any {
	meta := r.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"node":          r.Node,
		"host":          r.Host,
		"port":          r.Port,
		"otp_release":   r.OTPRelease,
		"serial":        r.Serial,
		"meta":          meta,
		"registered_at": r.RegisteredAt.UTC().Format(time.RFC3339),
		"expires_at":    r.ExpiresAt.UTC().Format(time.RFC3339),
		"generation":    r.Generation,
	}
}

func registrationKey(cluster, node string) string { return memberPrefix + cluster + "/" + node }

func getConfig(ctx context.Context, s logical.Storage, cluster string) (*clusterConfig, error) {
	e, err := s.Get(ctx, configPrefix+cluster)
	if err != nil || e == nil {
		return nil, err
	}
	var c clusterConfig
	if err := e.DecodeJSON(&c); err != nil {
		return nil, fmt.Errorf("decoding config of cluster %q: %w", cluster, err)
	}
	return &c, nil
}

func putConfig(ctx context.Context, s logical.Storage, cluster string, c *clusterConfig) error {
	e, err := logical.StorageEntryJSON(configPrefix+cluster, c)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

func getRegistration(ctx context.Context, s logical.Storage, cluster, node string) (*registration, error) {
	e, err := s.Get(ctx, registrationKey(cluster, node))
	if err != nil || e == nil {
		return nil, err
	}
	var r registration
	if err := e.DecodeJSON(&r); err != nil {
		return nil, fmt.Errorf("decoding registration %s/%s: %w", cluster, node, err)
	}
	return &r, nil
}

func putRegistration(ctx context.Context, s logical.Storage, cluster string, r *registration) error {
	e, err := logical.StorageEntryJSON(registrationKey(cluster, r.Node), r)
	if err != nil {
		return err
	}
	return s.Put(ctx, e)
}

// nextGeneration returns a number no earlier registration in the cluster had. The counter survives
// deregistration and deletion of the cluster config, so an old lease can never match a newer
// registration of the same name (its revoke handler removes a registration only of its own generation).
func nextGeneration(ctx context.Context, s logical.Storage, cluster string) (uint64, error) {
	key := generationPrefix + cluster
	e, err := s.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	var last uint64
	if e != nil {
		if last, err = strconv.ParseUint(string(e.Value), 10, 64); err != nil {
			return 0, fmt.Errorf("decoding generation of cluster %q: %w", cluster, err)
		}
	}
	last++
	if err := s.Put(ctx, &logical.StorageEntry{Key: key, Value: []byte(strconv.FormatUint(last, 10))}); err != nil {
		return 0, err
	}
	return last, nil
}

func listNodes(ctx context.Context, s logical.Storage, cluster string) ([]string, error) {
	return s.List(ctx, memberPrefix+cluster+"/")
}
