#!/usr/bin/env bash
# Installs what the Metaflow tier (tests/metaflow) runs, and prints KEY=PATH lines:
#   PYTHON   Debian's python3 with the Python packages of Metaflow and metaflow-service
#            (Debian bookworm packages; the package indexes are not reachable here)
#   AZURITE  azurite-blob, from npm at a pinned version, into the tools cache
#   GOOSE    goose, the migrations' tool, at the version metaflow-service's Dockerfile installs
#            (go install github.com/pressly/goose/v3/cmd/goose@v3.9.0), into the tools cache
# Instant when everything is there; about 2 min of apt and 1 min of npm on a fresh machine.
set -euo pipefail

cache=${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}
GO=${GO:-go}
hack=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
exec 9>"$cache/.metaflow-deps.lock"
flock 9

log() { printf 'metaflow-deps: %s\n' "$*" >&2; }

# metaflow-service v2.5.1's services (requirements.txt of each) and Metaflow 2.19.38's Azure
# datastore and Argo integration (azure-identity, azure-storage-blob, kubernetes, requests).
# python3-venv lays the service out in /opt/latest as its image does; python3-jsonschema checks
# what Metaflow writes against Argo's published schemas.
# iproute2 and util-linux (ip, unshare, nsenter, runuser) build each stack's sandbox; the base
# image's PostgreSQL 15 is the database (postgresql-15 where it is missing).
packages=(python3 python3-venv python3-pip python3-aiohttp python3-aiohttp-cors python3-aiopg
	python3-psycopg2 python3-packaging python3-boto3 python3-azure python3-requests python3-kubernetes
	python3-click python3-pyee python3-throttler python3-pygit2 python3-jsonschema python3-yaml
	iproute2 util-linux)
command -v initdb >/dev/null || [[ -x /usr/lib/postgresql/15/bin/initdb ]] || packages+=(postgresql-15)
"$hack/apt-install.sh" "${packages[@]}"

# Azurite 3.35.0 is the newest release that supports Node 20 (3.36 wants Node 21, 3.37 Node 22).
azurite_version=3.35.0
azurite_dir="$cache/azurite-$azurite_version"
if [[ ! -x $azurite_dir/node_modules/.bin/azurite-blob ]]; then
	if ! command -v npm >/dev/null; then
		"$hack/apt-install.sh" nodejs npm
	fi
	log "installing azurite $azurite_version from npm into $azurite_dir"
	rm -rf "$azurite_dir.tmp" && mkdir -p "$azurite_dir.tmp"
	(cd "$azurite_dir.tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >&2)
	rm -rf "$azurite_dir" && mv "$azurite_dir.tmp" "$azurite_dir"
fi

# The image builds goose with every driver; the postgres driver is the one the migrations use,
# and leaving the others out (their build tags) saves minutes of compiling modernc's SQLite.
goose_version=v3.9.0
goose_dir="$cache/goose-$goose_version"
if [[ ! -x $goose_dir/goose ]]; then
	log "building goose $goose_version into $goose_dir"
	mkdir -p "$goose_dir.tmp"
	GOBIN="$goose_dir.tmp" CGO_ENABLED=0 "$GO" install -trimpath -tags no_clickhouse,no_mssql,no_mysql,no_sqlite3,no_vertica \
		"github.com/pressly/goose/v3/cmd/goose@$goose_version" >&2
	rm -rf "$goose_dir" && mv "$goose_dir.tmp" "$goose_dir"
fi

echo "PYTHON=/usr/bin/python3"
echo "AZURITE=$azurite_dir/node_modules/.bin/azurite-blob"
echo "GOOSE=$goose_dir/goose"
