#!/usr/bin/env bash
# Install pgvector for the local PostgreSQL (Debian bookworm has no package for it):
# build the Debian trixie source package against postgresql-server-dev-<major>.
# Idempotent: if vector is already installed it only runs the (fast) SQL check.
set -euo pipefail

PGHOST=127.0.0.1 PGPORT=5432 PGUSER=${PGUSER:-postgres}   # both `postgres` and `root` are superusers here
export PGHOST PGPORT PGUSER
die() { echo "install-pgvector: ERROR: $*" >&2; exit 1; }

# Major version: ask the running server, else the newest configured cluster.
PG_MAJOR=$(psql -d postgres -Atqc 'SHOW server_version_num' 2>/dev/null | cut -c1-2 || true)
PG_MAJOR=${PG_MAJOR:-$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)}
[[ -n "$PG_MAJOR" ]] || die "cannot determine PostgreSQL major version"
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config   # not /usr/bin/pg_config (that is libpq-dev's)

ensure_running() {
  pg_isready -q && return
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start || die "cannot start PostgreSQL $PG_MAJOR"
  for _ in $(seq 30); do pg_isready -q && return; sleep 1; done
  die "PostgreSQL $PG_MAJOR did not become ready"
}

installed() {
  [[ -x $PG_CONFIG && -f $($PG_CONFIG --sharedir)/extension/vector.control && -f $($PG_CONFIG --pkglibdir)/vector.so ]]
}

if ! installed; then
  echo "install-pgvector: building pgvector for PostgreSQL $PG_MAJOR"
  ensure_running
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-upgrade: naming already-installed tools must not upgrade them (it bumped dpkg once).
  apt-get install -y -qq --no-install-recommends --no-upgrade build-essential dpkg-dev "postgresql-server-dev-$PG_MAJOR" >/dev/null

  # Reuse the mirror the machine already uses for its own release (never hardcode a host).
  . /etc/os-release
  MIRROR=$( { awk -v c="$VERSION_CODENAME" 'BEGIN{RS=""; FS="\n"} {u=""; s=""
                for (i = 1; i <= NF; i++) { if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
                                            if ($i ~ /^Suites:/) s = $i " " }
                if (u != "" && s ~ ("[ \t]" c "[ \t]")) print u}' /etc/apt/sources.list.d/*.sources 2>/dev/null
              sed -E 's/\[[^]]*\]//' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                awk -v c="$VERSION_CODENAME" '$1 ~ /^deb(-src)?$/ && $3 == c {print $2}'
            } | head -n1 || true)   # missing files / SIGPIPE are fine; emptiness is checked below
  [[ -n "$MIRROR" ]] || die "no apt mirror for '$VERSION_CODENAME' found in /etc/apt/sources.list*"

  # The trixie deb-src entry lives only in a private apt state under $TMP (own source list + own
  # lists dir), so the system's apt config is never modified and binary packages can never be
  # upgraded from trixie. Everything is deleted on exit.
  TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
  mkdir -p "$TMP/lists/partial"
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$MIRROR" > "$TMP/trixie-src.sources"
  # Sandbox::User=root: the _apt user cannot write into the root-owned 0700 mktemp dir.
  APT_PRIV=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$TMP"
            -o Dir::State::Lists="$TMP/lists" -o APT::Sandbox::User=root)
  apt-get "${APT_PRIV[@]}" update -qq || die "cannot fetch trixie Sources from $MIRROR"
  (cd "$TMP" && apt-get "${APT_PRIV[@]}" source -qq pgvector) || die "apt-get source pgvector failed"
  SRC=$(find "$TMP" -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  [[ -n "$SRC" ]] || die "pgvector source tree not found"

  # OPTFLAGS=: no -march=native (Debian's no-native patch does the same), so the .so runs on any x86-64 host.
  make -C "$SRC" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS= >/dev/null || die "make failed"
  make -C "$SRC" -s install PG_CONFIG="$PG_CONFIG" OPTFLAGS= >/dev/null || die "make install failed"
  installed || die "vector.control/vector.so missing after make install"
fi

# Verify: extension loads in `test`, halfvec type and hnsw access method work (temp objects rolled back).
ensure_running
VERSION=$(psql -d test -v ON_ERROR_STOP=1 -Atq <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vector;
BEGIN;
CREATE TEMP TABLE pgvector_check (v halfvec(3));
INSERT INTO pgvector_check VALUES ('[1,2,3]');
CREATE INDEX ON pgvector_check USING hnsw (v halfvec_l2_ops);
ROLLBACK;
SELECT extversion FROM pg_extension WHERE extname = 'vector';
SQL
) || die "pgvector verification failed in database 'test'"
[[ -n "$VERSION" ]] || die "vector extension not present in database 'test'"
echo "install-pgvector: pgvector $VERSION OK (PostgreSQL $PG_MAJOR)"
