# Shared by scripts/demo and scripts/test: find or install what building Tocsin needs.
# shellcheck shell=bash

# Installs Debian packages that are missing, as root or through sudo.
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The build needs a Rust toolchain, a C compiler and nasm (libjpeg-turbo's SIMD decoder is
# built from source, so JPEG pixels match Pillow's exactly).
ensure_build_tools() {
  if command -v apt-get >/dev/null 2>&1; then
    ensure_debian_packages gcc libc6-dev make nasm
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: install Rust 1.88 or newer (https://rustup.rs) and run this again" >&2
    exit 2
  }
  # Reuse one build folder outside the clone when we may: CI clones afresh every run.
  if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d /var/tmp ] && [ -w /var/tmp ]; then
    export CARGO_TARGET_DIR=/var/tmp/tocsin-target
  fi
}

# Where cargo puts binaries for a profile.
target_dir() {
  echo "${CARGO_TARGET_DIR:-$(pwd)/target}"
}
