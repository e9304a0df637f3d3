#!/usr/bin/env bash
# Builds the Helm CLI pinned by tools/helm/go.mod once into a per-version cache outside the repo
# and prints the path of the `helm` binary. Instant when cached. The chart tier of tests/k8sapi
# renders the pinned Argo charts with it (helm template), exactly as a release would.
#
# Helm's releases cannot be downloaded here; the Go module proxy serves helm.sh/helm/v3.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}"
version=$(cd "$root/tools/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
out="$cache/helm-$version/helm"

if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$(dirname "$out")"
echo "building helm $version into $(dirname "$out") (first build on this machine)" >&2
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Build into a temporary name and rename, so an interrupted build never leaves a broken binary
# that a later run would take as cached. The -X sets what `helm version` reports.
(cd "$root/tools/helm" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath \
	-ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
	-o "$tmp" helm.sh/helm/v3/cmd/helm) >&2
mv "$tmp" "$out"
echo "$out"
