#!/usr/bin/env bash
# Prints the URL of a PostgreSQL database for the API tests, on loopback. Installs Debian's postgresql and
# starts its cluster when run as root with apt-get (as in CI); prints nothing where it cannot (the tests
# then skip PostgreSQL, unless WFM_REQUIRE_POSTGRES=1 makes that a failure). Messages go to stderr.
set -euo pipefail
say() { echo "test-postgres: $*" >&2; }
if [ "$(id -u)" != 0 ]; then say "not root: not installing or starting PostgreSQL"; exit 0; fi
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    command -v apt-get >/dev/null || { say "no apt-get: cannot install PostgreSQL"; exit 0; }
    say "installing Debian's postgresql"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>&1 || true  # "already running" is not an error
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 30); do
    su postgres -c "psql -p $port -qAt -c 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -p $port -qAt" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wfm') THEN CREATE ROLE wfm LOGIN PASSWORD 'wfm'; END IF;
END \$\$;
SQL
if ! su postgres -c "psql -p $port -qAt -c \"select 1 from pg_database where datname = 'wfm_test'\"" | grep -q 1; then
    su postgres -c "createdb -p $port -O wfm wfm_test" >&2
fi
echo "postgresql+psycopg://wfm:wfm@127.0.0.1:$port/wfm_test"
