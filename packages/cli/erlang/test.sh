#!/usr/bin/env bash
# The companion application's checks, run by scripts/test (CI):
#   1. EUnit (test/*_tests.erl) on the current sources, compiled into a private temporary directory;
#   2. dialyzer on src/ against a PLT cached in .cache/dialyzer (built on first use, ~2.5 min; the
#      analysis then takes ~4 s). Skipped with a notice when dialyzer is not installed (erlang-dialyzer).
# Last line: "eunit: N passed, N failed" (the dialyzer run counts as one test).
# Uses erlc/erl on PATH (OTP 25 here; the code's OTP-27 branches are exercised by the e2e OTP 27 lane).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
out="$(mktemp -d -t vaultdist-eunit-XXXXXX)"
trap 'rm -rf "$out"' EXIT
passed=0; failed=0
if erlc +debug_info -o "$out" "$HERE"/src/*.erl "$HERE"/test/*_tests.erl; then
  mods="$(cd "$HERE/test" && ls *_tests.erl | sed 's/\.erl$//' | paste -sd, -)"
  log="$(cd "$out" && erl -noshell -pa "$out" -eval "R = eunit:test([$mods], [verbose]), halt(case R of ok -> 0; _ -> 1 end)." 2>&1)"
  echo "$log"
  if p="$(echo "$log" | sed -n 's/^ *All \([0-9]*\) tests passed\./\1/p' | tail -1)" && [ -n "$p" ]; then
    passed=$p
  elif [ "$(echo "$log" | sed -n 's/^ *Test passed\./1/p' | tail -1)" = 1 ]; then
    passed=1
  else
    read -r f p < <(echo "$log" | sed -n 's/^ *Failed: \([0-9]*\)\..*Passed: \([0-9]*\)\..*/\1 \2/p' | tail -1; echo)
    failed=${f:-1}; passed=${p:-0}
  fi
else
  echo "eunit: compile failed"; failed=1
fi
if command -v dialyzer >/dev/null 2>&1; then
  plt="$ROOT/.cache/dialyzer/otp$(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().').plt"
  mkdir -p "$(dirname "$plt")"
  if [ ! -f "$plt" ]; then
    echo "dialyzer: building the PLT $plt (first run only)"
    dialyzer --build_plt --output_plt "$plt" --apps erts kernel stdlib ssl public_key crypto >/dev/null 2>&1
  fi
  if dialyzer --plt "$plt" --src "$HERE"/src/*.erl; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
else
  echo "dialyzer: not installed (Debian erlang-dialyzer; scripts/setup installs it), skipped"
fi
echo "eunit: $passed passed, $failed failed"
[ "$failed" = 0 ]
