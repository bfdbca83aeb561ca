#!/usr/bin/env bash
# `go test ./...` of the registry plugin, for scripts/test. Prints go's own output and, last, one line
#   go-tests: N passed, N failed
# and writes "N M" (passed, failed) to the file named by $1 when given, so scripts/test can add the
# counts to its closing line. Exit status: go test's.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go-env.sh
. "$HERE/go-env.sh" || exit 1
cd "$HERE"
json="$(mktemp -t vaultdist-gotest-XXXXXX.json)"
"$VAULTDIST_GO" test -count=1 -json ./... >"$json"
code=$?
# One pass/fail event per test (subtests included); go's plain output lines go to our stdout (fd 3).
exec 3>&1
read -r passed failed < <(node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
let p = 0, f = 0;
for (const l of lines) {
  let e; try { e = JSON.parse(l); } catch { process.stdout.write(l + "\n"); continue; }
  if (e.Action === "output" && (!e.Test || /^(---|\s+\S+_test\.go:)/.test(e.Output))) process.stderr.write(e.Output);
  if (e.Test && e.Action === "pass") p++;
  if (e.Test && e.Action === "fail") f++;
}
console.log(p, f);
' "$json" 2>&3)
rm -f "$json"
# A build failure has no test events: count it as one failure so it cannot read as "0 failed".
if [ "$code" != 0 ] && [ "${failed:-0}" = 0 ]; then failed=1; fi
echo "go-tests: ${passed:-0} passed, ${failed:-0} failed"
[ -n "${1:-}" ] && echo "${passed:-0} ${failed:-0}" >"$1"
exit $code
