#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet, and prints nothing
# on stdout. One apt run at a time per machine: hack/test.sh runs tiers and background tool builds
# concurrently, and a second apt-get would fail on dpkg's lock instead of waiting for it.
set -euo pipefail

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0

sudo=""
[[ $(id -u) == 0 ]] || sudo=sudo
exec 9>"${TMPDIR:-/tmp}/metaflow-azure-apt.lock"
flock 9
echo "apt-install: installing ${missing[*]} from Debian" >&2
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
