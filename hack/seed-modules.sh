#!/usr/bin/env bash
# Seeds the Go module cache with the few modules the module proxy serves without their .info
# file (.mod and .zip answer 200, .info 403), which `go mod download` needs before it even looks
# at the zip. For each module below it fetches the .mod and .zip from the proxy with curl and
# writes a minimal .info beside them; `go` then verifies the zip and go.mod against the h1: lines
# of the go.sum that requires the module (those lines are the checksum database's), so a
# tampered or truncated download fails with "checksum mismatch" and is never used.
#
#   hack/seed-modules.sh [go.sum]   default: tools/armcontract/go.sum
#
# Idempotent: a module whose extracted copy already exists is skipped, and a seeded download
# that go has not verified yet is simply replaced. Needs curl and the proxy in GOPROXY.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sum="${1:-$root/tools/armcontract/go.sum}"

# module@version, as go.mod spells it. Only modules whose .info the proxy refuses belong here.
modules=(
	github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/consumption/armconsumption/v2@v2.0.0
)

# Module paths in the cache and on the proxy escape upper-case letters as '!' + lower case.
escape() { sed -E 's/([A-Z])/!\L\1/g' <<<"$1"; }

cache="$(go env GOMODCACHE)"
proxy="$(go env GOPROXY | tr ',|' '\n\n' | grep -m1 '^https\?://' || true)"
for mv in "${modules[@]}"; do
	mod="${mv%@*}" ver="${mv#*@}"
	if ! grep -q "^$mod $ver h1:" "$sum"; then
		echo "seed-modules: $mod $ver has no h1: line in $sum; refusing to seed an unverifiable module" >&2
		exit 1
	fi
	if [ -d "$cache/$(escape "$mod")@$ver" ]; then
		continue # already extracted (and so verified) by go
	fi
	if [ -z "$proxy" ]; then
		echo "seed-modules: no http(s) proxy in GOPROXY to fetch $mv from" >&2
		exit 1
	fi
	dir="$cache/cache/download/$(escape "$mod")/@v"
	url="${proxy%/}/$(escape "$mod")/@v/$ver"
	mkdir -p "$dir"
	tmp="$(mktemp -d "$dir/.seed.XXXXXX")"
	curl -fsS --retry 3 -o "$tmp/$ver.mod" "$url.mod"
	curl -fsS --retry 3 -o "$tmp/$ver.zip" "$url.zip"
	# The .info go would have fetched; go reads only Version from it for an exact version.
	printf '{"Version":"%s"}\n' "$ver" >"$tmp/$ver.info"
	mv -f "$tmp/$ver.mod" "$tmp/$ver.zip" "$tmp/$ver.info" "$dir/"
	rmdir "$tmp"
	echo "seed-modules: seeded $mv (go verifies it against $sum on first use)" >&2
done
