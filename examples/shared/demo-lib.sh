# Shared helpers for the examples' demo.sh scripts (sourced).
#
# Sourcing this also sets up the demo's work directory and cleanup: WORK (a new temp dir unless the
# caller set WORK; removed at exit only when this made it) and PIDS (processes killed at exit; a demo
# appends with PIDS+=($!)). The EXIT/INT/TERM trap is installed here.
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; CLEAN_WORK=1; else CLEAN_WORK=0; mkdir -p "$WORK"; fi
PIDS=()
demo_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$CLEAN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap demo_cleanup EXIT INT TERM

# check_epmd [NODE_NAME...]: reports whether anything listens on 127.0.0.1:4369. These demos never
# start an epmd (-start_epmd false). If an epmd started by something else is running, the named nodes
# (which use vaultdist_epmd) must not be registered with it; returns 1 if one is.
check_epmd() {
  if (exec 3<>/dev/tcp/127.0.0.1/4369) 2>/dev/null; then
    local names
    names=$(epmd -names 2>/dev/null | grep '^name ' || true)
    echo "port 4369: open, but not by this demo (some other epmd); its registrations: ${names:-none}" | tr '\n' ' '
    echo
    local n
    for n in "$@"; do
      if printf '%s\n' "$names" | grep -q "^name $n at"; then echo "UNEXPECTED: $n registered with that epmd" >&2; return 1; fi
    done
    [ $# -gt 0 ] && echo "none of our nodes ($*) registered with it"
    return 0
  fi
  echo "port 4369: closed"
}

# only LINES-REGEX: keeps the matching lines of a command's output; no match is not an error (the
# command's own exit status still counts under `set -o pipefail`).
only() { grep -E "$1" || [ $? = 1 ]; }
