#!/usr/bin/env bash
# The ARM contract data (internal/armcontract/data) is extracted by tools/armcontract from the
# Azure SDK for Go modules pinned in tools/armcontract/go.mod, never written by hand -- all but
# the files read by hand from published sources, each entry citing its source: spec-constraints.*
# and spec-mutability.* (the REST API specs) and provider-force-new.json (azure-native's own
# forceNewMap). The check leaves those alone; their tests are in internal/armcontract.
#
#   hack/armcontract.sh refresh   re-extract into internal/armcontract/data (after changing
#                                 tools/armcontract/config.go or go.mod); review the diff like code
#   hack/armcontract.sh check     re-extract into a temp dir and fail if the committed data differs
#                                 (make test runs this)
#
# Cost: warm ~3-10 s. Cold (empty GOMODCACHE and GOCACHE), measured 2026-11-25 on 2 cores at load
# average ~24: 2 min 30 s wall, 32 CPU-s, 300 MB peak RSS, 198 MB module cache -- 2.4 MB of Azure
# SDK for Go zips, 18 MB of azure-native SDK zips (read for the default tokens' API versions; `make
# unit` needs them anyway), the rest the main module's go.mod graph. No SDK is compiled.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/internal/armcontract/data"
gen() { (cd "$root/tools/armcontract" && GOFLAGS="${GOFLAGS:-} -mod=readonly" go run . -repo "$root" "$@"); }
# Some pinned SDK modules are served without their .info file; seed them first (go verifies
# them against tools/armcontract/go.sum). A no-op once they are in the module cache.
"$root/hack/seed-modules.sh" "$root/tools/armcontract/go.sum"

case "${1:-}" in
refresh)
	gen -out "$data"
	;;
check)
	(cd "$root/tools/armcontract" && go vet . && go test -count=1 . >/dev/null)
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	gen -out "$tmp" -date-from "$data"
	if ! diff -r -x 'spec-constraints.*' -x 'spec-mutability.*' -x 'provider-force-new.json' "$data" "$tmp"; then
		echo "internal/armcontract/data differs from what tools/armcontract extracts; run hack/armcontract.sh refresh" >&2
		exit 1
	fi
	echo "armcontract: committed data matches the extraction"
	;;
*)
	echo "usage: $0 refresh|check" >&2
	exit 2
	;;
esac
