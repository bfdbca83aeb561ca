package registry

import (
	"strings"
	"testing"
)

// FuzzSplitNode: never panics; whatever it accepts has exactly one @, a name part that OTP takes, and
// is accepted again when rebuilt from its parts (the registry key is the same atom as the input).
func FuzzSplitNode(f *testing.F) {
	for _, s := range []string{"app@127.0.0.1", "a@h", "app@::1", "a@b@c", "-a@h", "a@h.", "a@010.0.0.1", "a@" + strings.Repeat("x", 64), "é@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, host, err := splitNode(s)
		if err != nil {
			if _, ok := err.(*validationError); !ok {
				t.Fatalf("%q: error of type %T", s, err)
			}
			return
		}
		if name+"@"+host != s || strings.Count(s, "@") != 1 || len(s) > maxNodeLen || !namePartRe.MatchString(name) || strings.ContainsAny(host, ":[]/ ") {
			t.Fatalf("%q accepted as %q @ %q", s, name, host)
		}
		if nodeSlug(s) == "" || len(nodeSlug(s)) > slugMax {
			t.Fatalf("%q: slug %q", s, nodeSlug(s))
		}
	})
}

// FuzzGlobMatch: never panics; "*" matches everything, a pattern without * matches only itself, and
// p matches p with every * removed.
func FuzzGlobMatch(f *testing.F) {
	f.Add("*@10.0.0.*", "app@10.0.0.1")
	f.Add("a*b*c", "abc")
	f.Fuzz(func(t *testing.T, p, s string) {
		got := globMatch(p, s)
		if !globMatch("*", s) {
			t.Fatalf("* does not match %q", s)
		}
		if !strings.Contains(p, "*") && got != (p == s) {
			t.Fatalf("globMatch(%q, %q) = %v without a wildcard", p, s, got)
		}
		if !globMatch(p, strings.ReplaceAll(p, "*", "")) {
			t.Fatalf("%q does not match itself without stars", p)
		}
	})
}
