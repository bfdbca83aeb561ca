# Shared by scripts/otp27/*: where the OTP 27 root lives and what it must contain.
# Sourced, not executed.
#
# The root is a minimal Debian trixie tree (debootstrap --variant=minbase) with erlang-nox,
# erlang-dev and elixir from the Debian archive. It is cached per MACHINE (not per checkout) so a
# fresh clone on the same machine reuses it:
#   VAULTDIST_OTP27_ROOT   the root directory   (default /var/cache/vaultdist/otp27-trixie)
#   VAULTDIST_DEBIAN_MIRROR                      (default: the Debian mirror this machine's apt uses)
OTP27_SUITE=trixie
OTP27_PACKAGES="erlang-nox erlang-dev elixir"
OTP27_ROOT="${VAULTDIST_OTP27_ROOT:-/var/cache/vaultdist/otp27-trixie}"
# The first non-security Debian archive URI in this machine's apt sources (deb822 or one-line style).
otp27_apt_mirror() {
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) print $i }' || true
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { if ($i !~ /security/) print $i; break } }' || true
  } | head -n 1 || true
}
OTP27_MIRROR="${VAULTDIST_DEBIAN_MIRROR:-$(otp27_apt_mirror)}"
# The recipe: a root built from another recipe is rebuilt, not reused.
OTP27_RECIPE="v1 suite=${OTP27_SUITE} variant=minbase packages=${OTP27_PACKAGES}"
OTP27_STAMP="${OTP27_ROOT}/.vaultdist-root"

otp27_ready() {
  [ -f "$OTP27_STAMP" ] && [ "$(head -1 "$OTP27_STAMP")" = "$OTP27_RECIPE" ] && [ -x "$OTP27_ROOT/usr/bin/erl" ]
}
