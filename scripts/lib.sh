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

# Storage tests run on PostgreSQL as well as SQLite. Use the server at TOCSIN_TEST_POSTGRES_URL,
# else a local one on 127.0.0.1:5432; when there is none (or TOCSIN_TEST_OWN_POSTGRES=1), start a
# throwaway cluster in a temporary folder for this run and stop it on exit.
ensure_test_postgres() {
  [ -n "${TOCSIN_TEST_POSTGRES_URL:-}" ] && return 0
  if [ "${TOCSIN_TEST_OWN_POSTGRES:-0}" != 1 ] && command -v pg_isready >/dev/null 2>&1 &&
    pg_isready -q -h 127.0.0.1 -p 5432 &&
    psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    export TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 && ensure_debian_packages postgresql
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL's initdb not found: install PostgreSQL" >&2; exit 2; }
  PG_TMP=$(mktemp -d /tmp/tocsin-pg.XXXXXX)
  local as=()
  # initdb refuses to run as root: the cluster then belongs to the postgres user.
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_TMP"
    as=(runuser -u postgres --)
  fi
  local port=55432
  "${as[@]}" "$bin/initdb" -D "$PG_TMP/data" -U postgres --auth=trust >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  # The trap runs after this function has returned: expand everything it needs now.
  trap "$(printf '%q ' "${as[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -m fast stop) >/dev/null 2>&1; rm -rf $(printf '%q' "$PG_TMP")" EXIT
  export TOCSIN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "started a throwaway PostgreSQL on 127.0.0.1:$port" >&2
}
