package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// harness: one backend on in-memory storage with a settable clock.
type harness struct {
	t       *testing.T
	b       *backend
	storage logical.Storage
	sys     *logical.StaticSystemView
	now     time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, storage: &logical.InmemStorage{}, now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	h.b = newBackend(func() time.Time { return h.now })
	conf := logical.TestBackendConfig()
	conf.StorageView = h.storage
	h.sys = &logical.StaticSystemView{DefaultLeaseTTLVal: 24 * time.Hour, MaxLeaseTTLVal: 768 * time.Hour}
	conf.System = h.sys
	if err := h.b.Setup(context.Background(), conf); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	h.t.Helper()
	return h.b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: h.storage})
}

// ok runs a request that must succeed and returns its response.
func (h *harness) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil || (resp != nil && resp.IsError()) {
		h.t.Fatalf("%s %s: err=%v resp=%#v", op, path, err, resp)
	}
	return resp
}

// refused runs a request that must fail with status and a message containing want.
func (h *harness) refused(op logical.Operation, path string, data map[string]any, status int, want string) {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	got, msg := statusOf(resp, err)
	if got != status || !strings.Contains(msg, want) {
		h.t.Fatalf("%s %s %v: got %d %q, want %d containing %q", op, path, data, got, msg, status, want)
	}
}

// statusOf maps a backend answer to the HTTP status the server would send.
func statusOf(resp *logical.Response, err error) (int, string) {
	var coded logical.HTTPCodedError
	switch {
	case errors.As(err, &coded):
		return coded.Code(), coded.Error()
	case errors.Is(err, logical.ErrInvalidRequest) && resp != nil && resp.IsError():
		return http.StatusBadRequest, resp.Data["error"].(string)
	case errors.Is(err, logical.ErrPermissionDenied):
		return http.StatusForbidden, err.Error()
	case err != nil:
		return http.StatusInternalServerError, err.Error()
	case resp == nil:
		return http.StatusNotFound, ""
	case resp.IsError():
		return http.StatusBadRequest, resp.Data["error"].(string)
	}
	return http.StatusOK, ""
}

// viaServer round-trips a lease as the server keeps it: internal data through JSON.
func viaServer(t *testing.T, s *logical.Secret, issued time.Time) *logical.Secret {
	t.Helper()
	raw, err := json.Marshal(s.InternalData)
	if err != nil {
		t.Fatal(err)
	}
	out := &logical.Secret{LeaseOptions: s.LeaseOptions}
	if err := json.Unmarshal(raw, &out.InternalData); err != nil {
		t.Fatal(err)
	}
	out.IssueTime = issued
	return out
}

func (h *harness) lease(op logical.Operation, s *logical.Secret) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{Operation: op, Secret: s, Storage: h.storage})
}

func (h *harness) members(cluster string) []map[string]any {
	h.t.Helper()
	resp := h.ok(logical.ReadOperation, "clusters/"+cluster+"/members", nil)
	return resp.Data["members"].([]map[string]any)
}

func nodesOf(ms []map[string]any) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m["node"].(string))
	}
	return out
}

func (h *harness) configure(cluster string, data map[string]any) {
	h.t.Helper()
	h.ok(logical.UpdateOperation, "clusters/"+cluster, data)
}

func (h *harness) register(cluster, node string, port int) *logical.Response {
	h.t.Helper()
	return h.ok(logical.UpdateOperation, "clusters/"+cluster+"/nodes/"+node, map[string]any{"port": port})
}

func TestClusterConfig(t *testing.T) {
	h := newHarness(t)
	h.configure("prod", nil)
	got := h.ok(logical.ReadOperation, "clusters/prod", nil).Data
	if got["ttl"] != int64(60) || got["max_ttl"] != int64(600) || strings.Join(got["allowed_nodes"].([]string), ",") != "*" {
		t.Fatalf("defaults: %v", got)
	}
	h.configure("prod", map[string]any{"allowed_nodes": []string{"app*@10.0.0.*", "db@db.internal"}, "ttl": "30s", "max_ttl": "1h"})
	got = h.ok(logical.ReadOperation, "clusters/prod", nil).Data
	if got["ttl"] != int64(30) || got["max_ttl"] != int64(3600) || len(got["allowed_nodes"].([]string)) != 2 {
		t.Fatalf("written: %v", got)
	}
	h.configure("staging", nil)
	keys := h.ok(logical.ListOperation, "clusters/", nil).Data["keys"].([]string)
	if strings.Join(keys, ",") != "prod,staging" {
		t.Fatalf("list: %v", keys)
	}
	if resp, err := h.do(logical.ReadOperation, "clusters/none", nil); resp != nil || err != nil {
		t.Fatalf("unknown cluster: %v %v", resp, err)
	}

	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"ttl": "2m", "max_ttl": "1m"}, 400, "max_ttl 1m0s: shorter than ttl 2m0s")
	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"ttl": "0s"}, 400, "ttl 0s: must be at least 1s")
	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"allowed_nodes": []string{"a b@h"}}, 400, `allowed_nodes entry "a b@h"`)
	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"allowed_nodes": []string{}}, 400, "allowed_nodes: empty")
	h.refused(logical.UpdateOperation, "clusters/-bad", nil, 400, `cluster "-bad"`)
	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"ttl": "soon"}, 400, "")

	// Deleting a cluster removes its registrations too.
	h.register("staging", "a@h1", 9100)
	h.ok(logical.DeleteOperation, "clusters/staging", nil)
	if r, _ := getRegistration(context.Background(), h.storage, "staging", "a@h1"); r != nil {
		t.Fatal("registration survived the cluster's deletion")
	}
	if resp, _ := h.do(logical.ReadOperation, "clusters/staging/members", nil); resp != nil {
		t.Fatalf("members of a deleted cluster: %v", resp.Data)
	}
}

func TestRegisterAndRead(t *testing.T) {
	h := newHarness(t)
	h.configure("prod", map[string]any{"ttl": "45s"})
	resp := h.ok(logical.UpdateOperation, "clusters/prod/nodes/app@10.0.0.5", map[string]any{
		"port": 9100, "otp_release": "25", "serial": "3a:5f:01", "meta": map[string]any{"role": "web"},
	})
	d := resp.Data
	if d["node"] != "app@10.0.0.5" || d["host"] != "10.0.0.5" || d["port"] != 9100 || d["generation"] != uint64(1) ||
		d["registered_at"] != "2026-11-29T12:00:00Z" || d["expires_at"] != "2026-11-29T12:00:45Z" {
		t.Fatalf("register response: %v", d)
	}
	if resp.Secret == nil || resp.Secret.TTL != 45*time.Second || resp.Secret.MaxTTL != 10*time.Minute || !resp.Secret.Renewable {
		t.Fatalf("lease: %#v", resp.Secret)
	}
	if resp.Secret.InternalData["secret_type"] != secretTypeRegistration || resp.Secret.InternalData["generation"] != "1" {
		t.Fatalf("internal data: %v", resp.Secret.InternalData)
	}
	// host override (a DNS name for an IP-named node, or the other way round)
	h.ok(logical.UpdateOperation, "clusters/prod/nodes/db@db.internal", map[string]any{"port": "9200", "host": "10.0.0.9"})

	ms := h.members("prod")
	if strings.Join(nodesOf(ms), ",") != "app@10.0.0.5,db@db.internal" {
		t.Fatalf("members: %v", ms)
	}
	if ms[0]["otp_release"] != "25" || ms[0]["serial"] != "3a:5f:01" || ms[0]["meta"].(map[string]string)["role"] != "web" {
		t.Fatalf("member fields: %v", ms[0])
	}
	if ms[1]["host"] != "10.0.0.9" || ms[1]["port"] != 9200 {
		t.Fatalf("host override: %v", ms[1])
	}
	one := h.ok(logical.ReadOperation, "clusters/prod/members/db@db.internal", nil).Data
	two := h.ok(logical.ReadOperation, "clusters/prod/nodes/db@db.internal", nil).Data
	if one["port"] != 9200 || two["port"] != 9200 || one["cluster"] != "prod" {
		t.Fatalf("one member: %v %v", one, two)
	}
	keys := h.ok(logical.ListOperation, "clusters/prod/members/", nil).Data["keys"].([]string)
	if strings.Join(keys, ",") != "app@10.0.0.5,db@db.internal" {
		t.Fatalf("list members: %v", keys)
	}
	if resp, err := h.do(logical.ReadOperation, "clusters/prod/members/nobody@h", nil); resp != nil || err != nil {
		t.Fatalf("unknown member: %v %v", resp, err)
	}
	// An empty configured cluster answers an empty list, not 404.
	h.configure("empty", nil)
	if ms := h.members("empty"); len(ms) != 0 {
		t.Fatalf("empty cluster: %v", ms)
	}
}

func TestRegisterValidation(t *testing.T) {
	h := newHarness(t)
	h.configure("prod", nil)
	long := strings.Repeat("a", 251) + "@host" // 256
	cases := []struct {
		node string
		data map[string]any
		want string
	}{
		{"app", map[string]any{"port": 1}, "expected exactly one @"},
		{"a@b@c", map[string]any{"port": 1}, "expected exactly one @"},
		{"ap p@h", map[string]any{"port": 1}, `name part "ap p"`},
		{"app.x@h", map[string]any{"port": 1}, `name part "app.x"`},
		{"@h", map[string]any{"port": 1}, `name part ""`},
		{"app@", map[string]any{"port": 1}, "host: missing"},
		{"app@::1", map[string]any{"port": 1}, "IPv6 addresses are not supported (use a DNS name"},
		{"app@999.0.0.1", map[string]any{"port": 1}, "not a valid IPv4 address"},
		{"app@10.0.0", map[string]any{"port": 1}, "not a valid IPv4 address"},
		{"app@010.0.0.1", map[string]any{"port": 1}, "not a valid IPv4 address"},
		{"app@-h.example", map[string]any{"port": 1}, `label "-h"`},
		{"app@h..example", map[string]any{"port": 1}, `label ""`},
		{"app@h_x", map[string]any{"port": 1}, `label "h_x"`},
		{"app@h.example.", map[string]any{"port": 1}, `label ""`},
		{"-app@h", map[string]any{"port": 1}, "must not start with -"},
		{"app@" + strings.Repeat("a", 64), map[string]any{"port": 1}, "label"},
		{long, map[string]any{"port": 1}, "longer than 255 characters"},
		{"app@h", map[string]any{}, "port: missing"},
		{"app@h", map[string]any{"port": 0}, "port 0: out of range 1..65535"},
		{"app@h", map[string]any{"port": 65536}, "port 65536: out of range"},
		{"app@h", map[string]any{"port": -1}, "port -1: out of range"},
		{"app@h", map[string]any{"port": 1, "host": "fe80::1"}, "IPv6 addresses are not supported"},
		{"app@h", map[string]any{"port": 1, "host": "[::1]"}, "IPv6 addresses are not supported"},
		{"app@h", map[string]any{"port": 1, "host": "bad host"}, "not a DNS name or IPv4 address"},
		{"app@h", map[string]any{"port": 1, "otp_release": "25; rm"}, "otp_release"},
		{"app@h", map[string]any{"port": 1, "serial": "zz"}, "serial"},
		{"app@h", map[string]any{"port": 1, "meta": map[string]any{"a b": "x"}}, "meta key"},
		{"app@h", map[string]any{"port": 1, "meta": map[string]any{"k": strings.Repeat("x", 257)}}, "meta[k]"},
	}
	for _, c := range cases {
		h.refused(logical.UpdateOperation, "clusters/prod/nodes/"+c.node, c.data, 400, c.want)
	}
	many := map[string]any{}
	for i := 0; i < 17; i++ {
		many[string(rune('a'+i))] = "v"
	}
	h.refused(logical.UpdateOperation, "clusters/prod/nodes/app@h", map[string]any{"port": 1, "meta": many}, 400, "meta: 17 entries")
	// Nothing was written by any refused request.
	if ms := h.members("prod"); len(ms) != 0 {
		t.Fatalf("refused registrations stored: %v", ms)
	}
	// Accepted edge cases: the longest name, short host names, ports at both ends, mixed case.
	okLong := strings.Repeat("a", 250) + "@host" // 255
	for node, port := range map[string]int{okLong: 1, "app_1-x@localhost": 65535, "APP@Host.Example": 4370, "a@10.255.0.1": 9} {
		h.register("prod", node, port)
	}
	if n := len(h.members("prod")); n != 4 {
		t.Fatalf("accepted %d of 4", n)
	}
}

func TestAllowedNodesAndUnconfigured(t *testing.T) {
	h := newHarness(t)
	h.refused(logical.UpdateOperation, "clusters/nope/nodes/app@h", map[string]any{"port": 1}, 400, `cluster "nope": not configured`)
	h.configure("prod", map[string]any{"allowed_nodes": "app*@10.0.0.*,db@db.internal"})
	h.register("prod", "app1@10.0.0.7", 9100)
	h.register("prod", "db@db.internal", 9100)
	h.refused(logical.UpdateOperation, "clusters/prod/nodes/evil@10.0.0.7", map[string]any{"port": 1}, 403, `node "evil@10.0.0.7": not allowed in cluster "prod"`)
	h.refused(logical.UpdateOperation, "clusters/prod/nodes/app1@10.0.1.7", map[string]any{"port": 1}, 403, "not allowed")
	h.refused(logical.UpdateOperation, "clusters/prod/nodes/DB@db.internal", map[string]any{"port": 1}, 403, "not allowed")
	if got := nodesOf(h.members("prod")); strings.Join(got, ",") != "app1@10.0.0.7,db@db.internal" {
		t.Fatalf("members: %v", got)
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "a@h", true},
		{"*@10.0.0.*", "app@10.0.0.12", true},
		{"*@10.0.0.*", "app@10.0.1.12", false},
		{"app*@h", "app@h", true},
		{"app*@h", "app7@h", true},
		{"app*@h", "xapp@h", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"a@h", "a@h", true},
		{"a@h", "a@hh", false},
		{"**", "", true},
		{"App@h", "app@h", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// TestLeaseRevokeSemantics: lease expiry / revoke / token revocation call the secret's revoke handler.
// It removes the registration of its own generation only, so a node that registered again is not
// removed by its old lease; renewing a replaced or deleted registration fails.
func TestLeaseRevokeSemantics(t *testing.T) {
	h := newHarness(t)
	h.configure("prod", map[string]any{"ttl": "60s", "max_ttl": "10m"})
	issued := time.Now()
	first := viaServer(t, h.register("prod", "app@h", 9100).Secret, issued)
	second := viaServer(t, h.register("prod", "app@h", 9101).Secret, issued)
	if first.InternalData["generation"] == second.InternalData["generation"] {
		t.Fatal("re-registration kept the generation")
	}
	// The old lease ends: the newer registration stays.
	if _, err := h.lease(logical.RevokeOperation, first); err != nil {
		t.Fatal(err)
	}
	ms := h.members("prod")
	if len(ms) != 1 || ms[0]["port"] != 9101 {
		t.Fatalf("old lease removed the new registration: %v", ms)
	}
	// The old lease cannot be renewed.
	resp, err := h.lease(logical.RenewOperation, first)
	if code, msg := statusOf(resp, err); code != 400 || !strings.Contains(msg, "register again") {
		t.Fatalf("renew of a replaced lease: %d %q", code, msg)
	}
	// The current lease renews: expires_at moves on with the clock.
	h.now = h.now.Add(50 * time.Second)
	resp, err = h.lease(logical.RenewOperation, second)
	if err != nil || resp == nil || resp.Secret == nil || resp.Secret.TTL != 60*time.Second || resp.Secret.MaxTTL != 10*time.Minute {
		t.Fatalf("renew: %#v %v", resp, err)
	}
	if got := h.members("prod")[0]["expires_at"]; got != "2026-11-29T12:01:50Z" {
		t.Fatalf("expires_at after renew: %v", got)
	}
	// Its revoke removes it.
	if _, err := h.lease(logical.RevokeOperation, second); err != nil {
		t.Fatal(err)
	}
	if ms := h.members("prod"); len(ms) != 0 {
		t.Fatalf("revoked registration still listed: %v", ms)
	}
	// A revoke of a lease whose registration is already gone is a no-op (the server retries revokes).
	if _, err := h.lease(logical.RevokeOperation, second); err != nil {
		t.Fatal(err)
	}
	// Deregistration: the lease stays with the server, renew fails, revoke does nothing to a new one.
	third := viaServer(t, h.register("prod", "app@h", 9102).Secret, issued)
	h.ok(logical.DeleteOperation, "clusters/prod/nodes/app@h", nil)
	resp, err = h.lease(logical.RenewOperation, third)
	if code, _ := statusOf(resp, err); code != 400 {
		t.Fatalf("renew after deregistration: %d", code)
	}
	h.register("prod", "app@h", 9103)
	if _, err := h.lease(logical.RevokeOperation, third); err != nil {
		t.Fatal(err)
	}
	if ms := h.members("prod"); len(ms) != 1 || ms[0]["port"] != 9103 {
		t.Fatalf("stale lease removed a later registration: %v", ms)
	}
	// Generations survive the cluster's deletion, so leases from before it never match.
	h.ok(logical.DeleteOperation, "clusters/prod", nil)
	h.configure("prod", nil)
	g := h.register("prod", "app@h", 9104).Data["generation"].(uint64)
	if g <= 4 {
		t.Fatalf("generation restarted: %d", g)
	}
	// A lease with broken internal data is an error, not a silent success.
	if _, err := h.lease(logical.RevokeOperation, &logical.Secret{InternalData: map[string]any{"secret_type": secretTypeRegistration}}); err == nil {
		t.Fatal("revoke without internal data succeeded")
	}
}

func TestExpiryAndPeriodicCleanup(t *testing.T) {
	h := newHarness(t)
	h.configure("prod", map[string]any{"ttl": "60s"})
	h.register("prod", "old@h", 1)
	h.now = h.now.Add(30 * time.Second)
	h.register("prod", "new@h", 2)
	h.now = h.now.Add(31 * time.Second) // old: 61 s, new: 31 s
	if got := nodesOf(h.members("prod")); strings.Join(got, ",") != "new@h" {
		t.Fatalf("expired member listed: %v", got)
	}
	if resp, _ := h.do(logical.ReadOperation, "clusters/prod/nodes/old@h", nil); resp != nil {
		t.Fatal("expired member readable")
	}
	// Still stored until the periodic function runs.
	if r, _ := getRegistration(context.Background(), h.storage, "prod", "old@h"); r == nil {
		t.Fatal("gone before cleanup")
	}
	// Orphans of a cluster config that vanished (e.g. storage restored) are cleaned up too.
	if err := putRegistration(context.Background(), h.storage, "ghost", &registration{Node: "g@h", Host: "h", Port: 1, ExpiresAt: h.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := h.b.PeriodicFunc(context.Background(), &logical.Request{Storage: h.storage}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prod/old@h", "ghost/g@h"} {
		c, n, _ := strings.Cut(k, "/")
		if r, _ := getRegistration(context.Background(), h.storage, c, n); r != nil {
			t.Fatalf("%s survived cleanup", k)
		}
	}
	if r, _ := getRegistration(context.Background(), h.storage, "prod", "new@h"); r == nil {
		t.Fatal("cleanup removed a live registration")
	}
}

func TestPathHelp(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"clusters/prod", "clusters/prod/nodes/a@h", "clusters/prod/members", "clusters/prod/members/a@h", "clusters/"} {
		resp, err := h.do(logical.HelpOperation, p, nil)
		if err != nil || resp == nil || !strings.Contains(resp.Data["help"].(string), "##") {
			t.Fatalf("help %s: %v %v", p, resp, err)
		}
	}
}

func TestVersionIsReported(t *testing.T) {
	h := newHarness(t)
	if h.b.PluginVersion().Version != Version {
		t.Fatalf("running version %q, want %q", h.b.PluginVersion().Version, Version)
	}
}

// Vectors from packages/sdk/src/identity.ts nodeSlug (tsx, same inputs): the plugin must name the same
// per-node roles as the SDK that creates them.
func TestNodeSlugMatchesSDK(t *testing.T) {
	for node, want := range map[string]string{
		"app@127.0.0.1":     "app-127-0-0-1-66babd73",
		"_@h":               "h-746ce1b6",
		"web-1@db.internal": "web-1-db-internal-465e8b15",
		strings.Repeat("a", 70) + "@host.example": strings.Repeat("a", 54) + "-0caf76ca",
	} {
		if got := nodeSlug(node); got != want {
			t.Errorf("nodeSlug(%q) = %q, want %q", node, got, want)
		}
	}
}

// TestIdentityBinding: with identity_binding "entity", only the node's own identity (an AppRole or
// cert-auth alias naming its per-node role) registers its name, whatever the ACL let through.
func TestIdentityBinding(t *testing.T) {
	h := newHarness(t)
	h.refused(logical.UpdateOperation, "clusters/prod", map[string]any{"identity_binding": "token"}, 400, "identity_binding")
	h.configure("prod", map[string]any{"identity_binding": "entity"})
	if got := h.ok(logical.ReadOperation, "clusters/prod", nil).Data["identity_binding"]; got != "entity" {
		t.Fatalf("identity_binding read back: %v", got)
	}
	reg := func(entityID, node string) (*logical.Response, error) {
		return h.b.HandleRequest(context.Background(), &logical.Request{
			Operation: logical.UpdateOperation, Path: "clusters/prod/nodes/" + node, Data: map[string]any{"port": 9100},
			Storage: h.storage, EntityID: entityID,
		})
	}
	a, b := "app@127.0.0.1", "evil@127.0.0.1"
	approleA := &logical.Entity{ID: "e-a", Aliases: []*logical.Alias{{MountType: "approle", Name: "role-id-uuid", Metadata: map[string]string{"role_name": "vaultdist-" + nodeSlug(a)}}}}
	certA := &logical.Entity{ID: "e-c", Aliases: []*logical.Alias{{MountType: "cert", Name: "127.0.0.1", Metadata: map[string]string{"cert_name": "vaultdist-" + nodeSlug(a)}}}}
	// Look-alikes that must not pass: the right name on the wrong mount type, the CN only, a disabled entity.
	wrongType := &logical.Entity{ID: "e-w", Aliases: []*logical.Alias{{MountType: "userpass", Name: "vaultdist-" + nodeSlug(a), Metadata: map[string]string{"role_name": "vaultdist-" + nodeSlug(a)}}}}
	cnOnly := &logical.Entity{ID: "e-n", Aliases: []*logical.Alias{{MountType: "cert", Name: "vaultdist-" + nodeSlug(a)}}}
	disabled := &logical.Entity{ID: "e-d", Disabled: true, Aliases: approleA.Aliases}

	through := []string{}
	for _, c := range []struct {
		what   string
		entity *logical.Entity
		id     string
		node   string
	}{
		{"no entity (root/plain token)", nil, "", a},
		{"A's AppRole identity registers B", approleA, "e-a", b},
		{"A's cert identity registers B", certA, "e-c", b},
		{"userpass alias with A's role name", wrongType, "e-w", a},
		{"cert alias named like A's role, no metadata", cnOnly, "e-n", a},
		{"disabled entity", disabled, "e-d", a},
	} {
		h.sys.EntityVal = c.entity
		resp, err := reg(c.id, c.node)
		if code, msg := statusOf(resp, err); code != 403 || !strings.Contains(msg, "identity_binding entity") {
			through = append(through, fmt.Sprintf("%s: %d %s", c.what, code, msg))
		}
	}
	if len(through) != 0 {
		t.Fatalf("got through: %v", through)
	}
	for _, e := range []*logical.Entity{approleA, certA} {
		h.sys.EntityVal = e
		if resp, err := reg(e.ID, a); err != nil || resp.IsError() {
			t.Fatalf("own identity %s refused: %v %v", e.ID, resp, err)
		}
	}
	if got := nodesOf(h.members("prod")); strings.Join(got, ",") != a {
		t.Fatalf("members: %v", got)
	}
	// Under "acl" (the default) the same requests are the ACL's business only.
	h.configure("prod", map[string]any{"identity_binding": "acl"})
	h.sys.EntityVal = approleA
	if resp, err := reg("e-a", b); err != nil || resp.IsError() {
		t.Fatalf("acl binding refused: %v %v", resp, err)
	}
}
