package registry

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Node names are validated as OTP accepts them for distribution (`name@host`), so that nothing the
// registry hands out can fail later in net_kernel or vaultdist_epmd:
//   - name part: letters, digits, `_` and `-` (what `-name`/`-sname` accept without quoting), not
//     starting with `-` (erl would read `-name -x@h` as a flag);
//   - host part: a DNS name (labels of letters, digits and `-`, not starting or ending with `-`,
//     1..63 characters each, 253 in all) or an IPv4 literal in dotted-quad form;
//   - IPv6 literals are refused with a hint: an Erlang node name cannot carry `:` unquoted, and the
//     TLS distribution carrier here is IPv4 (use a DNS name that resolves to the address);
//   - at most 255 characters in all (the atom length limit).

const maxNodeLen = 255

var (
	namePartRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	labelRe    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	allDigits  = regexp.MustCompile(`^[0-9.]+$`)
	clusterRe  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$`)
	otpRe      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
	serialRe   = regexp.MustCompile(`^[0-9A-Fa-f][0-9A-Fa-f:-]{0,127}$`)
	metaKeyRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

const (
	maxMetaEntries  = 16
	maxMetaValueLen = 256
)

// validationError is a 400 naming the input that was refused.
type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &validationError{fmt.Sprintf(format, args...)} }

// splitNode validates `name@host` and returns its parts.
func splitNode(node string) (name, host string, err error) {
	if node == "" {
		return "", "", invalid("node: missing (expected name@host)")
	}
	if len(node) > maxNodeLen {
		return "", "", invalid("node %q: longer than %d characters", truncate(node), maxNodeLen)
	}
	at := strings.IndexByte(node, '@')
	if at < 0 || strings.Count(node, "@") != 1 {
		return "", "", invalid("node %q: expected exactly one @ (name@host)", node)
	}
	name, host = node[:at], node[at+1:]
	if !namePartRe.MatchString(name) {
		return "", "", invalid("node %q: name part %q must be letters, digits, _ or - (as OTP accepts it)", node, name)
	}
	if strings.HasPrefix(name, "-") {
		return "", "", invalid("node %q: name part %q must not start with - (erl would read it as a flag)", node, name)
	}
	if err := validateHost(host); err != nil {
		return "", "", invalid("node %q: %s", node, err.Error())
	}
	return name, host, nil
}

// validateHost accepts a DNS name or an IPv4 literal.
func validateHost(host string) error {
	if host == "" {
		return invalid("host: missing")
	}
	if strings.Contains(host, ":") || strings.HasPrefix(host, "[") {
		return invalid("host %q: IPv6 addresses are not supported (use a DNS name that resolves to it)", host)
	}
	if allDigits.MatchString(host) {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() {
			return invalid("host %q: not a valid IPv4 address (dotted quad, each part 0..255, no leading zeros)", host)
		}
		return nil
	}
	// No trailing dot: the SDK's parseNodeName refuses it too, and the name must be the same atom
	// everywhere (certificate URI SAN, policy path, registry key).
	if len(host) > 253 {
		return invalid("host %q: DNS name longer than 253 characters", truncate(host))
	}
	for _, l := range strings.Split(host, ".") {
		if !labelRe.MatchString(l) {
			return invalid("host %q: not a DNS name or IPv4 address (label %q: letters, digits and -, 1..63 characters, no leading or trailing -)", host, l)
		}
	}
	return nil
}

func validatePort(port int) error {
	if port < 1 || port > 65535 {
		return invalid("port %d: out of range 1..65535", port)
	}
	return nil
}

func validateCluster(c string) error {
	if !clusterRe.MatchString(c) {
		return invalid("cluster %q: letters, digits, _, . and -, 1..64 characters, starting and ending with a letter or digit", c)
	}
	return nil
}

func validateMeta(otpRelease, serial string, meta map[string]string) error {
	if otpRelease != "" && !otpRe.MatchString(otpRelease) {
		return invalid("otp_release %q: letters, digits, ., _ and -, at most 32 characters", truncate(otpRelease))
	}
	if serial != "" && !serialRe.MatchString(serial) {
		return invalid("serial %q: hexadecimal (colons or dashes allowed), at most 128 characters", truncate(serial))
	}
	if len(meta) > maxMetaEntries {
		return invalid("meta: %d entries, at most %d", len(meta), maxMetaEntries)
	}
	for k, v := range meta {
		if !metaKeyRe.MatchString(k) {
			return invalid("meta key %q: letters, digits, ., _ and -, at most 64 characters", truncate(k))
		}
		if len(v) > maxMetaValueLen {
			return invalid("meta[%s]: value longer than %d characters", k, maxMetaValueLen)
		}
	}
	return nil
}

// validatePattern checks an allowed_nodes glob: `*` matches any run of characters; everything else
// must be characters a node name can hold.
func validatePattern(p string) error {
	if p == "" || len(p) > maxNodeLen {
		return invalid("allowed_nodes entry %q: empty or longer than %d characters", truncate(p), maxNodeLen)
	}
	for _, r := range p {
		if !(r == '*' || r == '@' || r == '.' || r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return invalid("allowed_nodes entry %q: only letters, digits, @ . _ - and the wildcard *", p)
		}
	}
	return nil
}

// globMatch reports whether s matches p, where `*` matches any run of characters (also `.` and `@`)
// and every other character matches itself, case-sensitively: OTP compares node names as atoms, so
// `App@h` and `app@h` are different nodes, and a pattern should not let one stand for the other.
func globMatch(p, s string) bool {
	// Iterative wildcard matching with backtracking to the last star: O(len(p)·len(s)) worst case.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
