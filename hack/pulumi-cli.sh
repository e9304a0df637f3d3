#!/usr/bin/env bash
# Builds the Pulumi CLI pinned by tools/pulumi/go.mod once into a per-version cache outside the
# repo and prints the directory holding `pulumi` (put it first on PATH). Instant when cached.
# Beside it goes tools/pulumi/langhost, a small Go language host (`pulumi-language-go`), which the
# CLI finds next to itself: plain `pulumi up` of this `runtime: go` project needs one, and
# Pulumi's own is not served by the module proxy.
#
# The CLI is not installable any other way here (no release downloads); see tools/pulumi/go.mod.
# Cold build (empty Go build cache): about 320 CPU-seconds (4 min wall on 2 cores), 2.3 GB peak.
set -euo pipefail

version=v3.274.1
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}"
bindir="$cache/pulumi-$version/bin"

# One build at a time per tools cache: hack/test.sh builds tools in the background while the first
# tiers run, and a tier that needs this one waits here for that build instead of starting another.
mkdir -p "$cache"
exec 9>"$cache/.pulumi-cli.lock"
flock 9

# The binary must report its version: the Automation API refuses a CLI whose version is empty.
# The language host is the project's own code: rebuilt whenever its source is newer (seconds).
build_langhost() {
	local tmp="$bindir/pulumi-language-go.tmp.$$"
	(cd "$root/tools/pulumi" && GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -o "$tmp" ./langhost) >&2
	mv "$tmp" "$bindir/pulumi-language-go"
}

if [ -x "$bindir/pulumi" ] && [ "$("$bindir/pulumi" version 2>/dev/null)" = "$version" ]; then
	if [ ! -x "$bindir/pulumi-language-go" ] || [ "$root/tools/pulumi/langhost/main.go" -nt "$bindir/pulumi-language-go" ]; then
		build_langhost
	fi
	echo "$bindir"
	exit 0
fi

mkdir -p "$bindir"
echo "building pulumi $version into $bindir (about 5 CPU-minutes and 2.3 GB of memory when cold)" >&2
tmp="$bindir/pulumi.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Build into a temporary name and rename, so an interrupted build never leaves a broken binary
# that a later run would take as cached. The flags are go test's (no -trimpath, cgo as it is), so
# the packages it has in common with the program (the Pulumi SDK, gRPC, OpenTelemetry, at one
# version: TestToolModulesShareCompiledPackages) come from the build cache when vet built them.
(cd "$root/tools/pulumi" && GOFLAGS="${GOFLAGS:-} -mod=readonly" go build \
	-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
	-o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2
mv "$tmp" "$bindir/pulumi"
build_langhost
got="$("$bindir/pulumi" version)"
if [ "$got" != "$version" ]; then
	echo "pulumi-cli.sh: built pulumi reports version \"$got\", want $version" >&2
	exit 1
fi
echo "$bindir"
