#!/usr/bin/env bash
# Builds the Kubernetes resource provider (pulumi-resource-kubernetes) and Helm pinned by
# tools/k8sprovider/go.mod once into a per-version cache outside the repo, and prints KEY=PATH
# lines: PULUMI_RESOURCE_KUBERNETES (the binary) and HELM. Instant when cached.
# `k8s-provider.sh helm` builds and prints only HELM (what the chart tier needs; the packages it
# compiles are the provider's too, so the provider's build later reuses them).
#
# Helm is a tool of the same module, so it is the Helm the provider installs charts with and
# costs only a link once the provider is built. The provider's module cannot be installed with
# `go install` (see tools/k8sprovider/go.mod); its command embeds two JSON files that
# `go run ./gen` writes from the module's own schema before the build.
# Cold (empty Go build cache): about 1,500 CPU-seconds and 5 GB for the provider; Helm adds a link.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}"
mod="$root/tools/k8sprovider"
GO=${GO:-go}

# One build at a time per tools cache (hack/test.sh builds tools in the background while the first
# tiers run; a tier that needs one waits here for that build instead of starting another).
mkdir -p "$cache"
exec 9>"$cache/.k8s-provider.lock"
flock 9

# The provider reports the version of the tag the pinned pseudo-version is (v4.25.0).
version=4.25.0
helm_version=$(cd "$mod" && "$GO" list -m -f '{{.Version}}' helm.sh/helm/v3)

provider="$cache/pulumi-resource-kubernetes-v$version/pulumi-resource-kubernetes"
helm="$cache/helm-$helm_version/helm"

# build OUT PACKAGE LDFLAGS writes to a temporary name first so an interrupted build never
# leaves a half-written binary that a later run would take as cached.
build() {
	local out=$1 pkg=$2 ldflags=$3
	mkdir -p "$(dirname "$out")"
	local tmp="$out.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	(cd "$mod" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" "$GO" build -trimpath \
		-ldflags "-s -w $ldflags" -o "$tmp" "$pkg") >&2
	mv "$tmp" "$out"
	trap - EXIT
}

only=${1:-}
if [[ $only != helm && ! -x "$provider" ]]; then
	echo "building pulumi-resource-kubernetes $version into $(dirname "$provider") (first build on this machine: ~1,500 CPU-seconds, 5 GB)" >&2
	# gen reads the provider module's own schema from the module cache, which a build of its
	# packages alone does not fill on a fresh machine.
	(cd "$mod" && "$GO" mod download github.com/pulumi/pulumi-kubernetes/provider/v4 && "$GO" run ./gen -version "$version") >&2
	build "$provider" ./cmd/pulumi-resource-kubernetes "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version"
fi
if [[ ! -x "$helm" ]]; then
	echo "building helm $helm_version into $(dirname "$helm")" >&2
	# The -X sets what `helm version` reports.
	build "$helm" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$helm_version"
fi

[[ $only == helm ]] || echo "PULUMI_RESOURCE_KUBERNETES=$provider"
echo "HELM=$helm"
