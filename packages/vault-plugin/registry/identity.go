package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"
)

// Identity binding (cluster config `identity_binding`):
//
//	"acl"     (default) who may register which name is decided by the server's ACL alone: each node's
//	          policy grants only its own `clusters/+/nodes/<name@host>`.
//	"entity"  additionally, the caller's identity entity must be the node's own: it has an alias from
//	          an AppRole login with role_name `vaultdist-<slug>`, or from a cert-auth login with
//	          cert_name `vaultdist-<slug>` (the per-node objects of the identity model, issue #12), where
//	          slug = nodeSlug(name@host) as the SDK computes it. A policy that grants too much (a
//	          wildcard written by hand) then still cannot register another node's name.
//
// Note: cert auth puts cert_name into the alias metadata only when the cert role has
// enable_identity_alias_metadata=true. Tokens without an entity (root, plain tokens) cannot register
// under "entity"; operators evict (delete) as before.
const (
	bindingACL    = "acl"
	bindingEntity = "entity"
	rolePrefix    = "vaultdist-"
	slugMax       = 63
)

var slugFold = regexp.MustCompile(`[^a-z0-9]+`)

// nodeSlug mirrors packages/sdk/src/identity.ts nodeSlug: lowercase [a-z0-9-], readable name and
// host, then 8 hex of sha256 over the exact node name; at most 63 characters.
func nodeSlug(node string) string {
	at := strings.IndexByte(node, '@')
	name, host := node[:at], node[at+1:]
	sum := sha256.Sum256([]byte(node))
	hash := hex.EncodeToString(sum[:])[:8]
	readable := slugFold.ReplaceAllString(strings.ToLower(name+"-"+host), "-")
	readable = strings.Trim(readable, "-")
	if len(readable) > slugMax-len(hash)-1 {
		readable = readable[:slugMax-len(hash)-1]
	}
	readable = strings.TrimRight(readable, "-")
	if readable == "" {
		return hash
	}
	return readable + "-" + hash
}

// checkEntity returns nil when the caller's entity is bound to node (see above), else why not.
func (b *backend) checkEntity(req *logical.Request, node string) error {
	want := rolePrefix + nodeSlug(node)
	if req.EntityID == "" {
		return fmt.Errorf("the token has no identity entity; log in through the node's AppRole or cert-auth role %s", want)
	}
	sys := b.System()
	if sys == nil {
		return fmt.Errorf("no system view")
	}
	ent, err := sys.EntityInfo(req.EntityID)
	if err != nil {
		return fmt.Errorf("reading the caller's entity: %w", err)
	}
	if ent == nil || ent.Disabled {
		return fmt.Errorf("the caller's entity is missing or disabled")
	}
	for _, a := range ent.Aliases {
		switch a.MountType {
		case "approle":
			if a.Metadata["role_name"] == want {
				return nil
			}
		case "cert":
			if a.Metadata["cert_name"] == want {
				return nil
			}
		}
	}
	return fmt.Errorf("the caller's identity is not node %s's (no AppRole role_name or cert-auth cert_name %s among its aliases)", node, want)
}
