#!/usr/bin/env bash
# Runs the test tiers named as arguments (make targets, in order) the way `make test` does, while
# building the tools the later tiers need in the background.
#
# Why: on a fresh machine about two thirds of `make test` is building tools (the Pulumi CLI, Helm,
# the control plane, the Kubernetes provider), and the first tiers (vet, unit, race) leave much of
# the CPU idle while their tests run. The background builds run at the lowest CPU priority, so
# they take only what the tiers leave; each tool script holds a lock per tool, so a tier that
# needs a tool still being built waits for that build rather than starting a second one. On a
# machine whose tools cache is warm the background pass only finds every tool cached (seconds).
#
# It prints each tier's wall time at the end and the background log's path at the start.
# METAFLOW_AZURE_NO_PREBUILD=1 turns the background builds off.
set -euo pipefail

hack=$(cd "$(dirname "$0")" && pwd)
cache=${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}
mkdir -p "$cache"
log="$cache/prebuild.log"

bg=
stop_background() {
	if [[ -n $bg ]] && kill -0 "$bg" 2>/dev/null; then
		# Its own session: the signal reaches the go builds it started, too.
		kill -TERM -- "-$bg" 2>/dev/null || true
		wait "$bg" 2>/dev/null || true
	fi
}
trap stop_background EXIT

if [[ ${METAFLOW_AZURE_NO_PREBUILD:-} != 1 ]]; then
	echo "test.sh: building tools in the background (log: $log)" >&2
	# In the order the tiers need them: the CLI (engine tier), Helm and the control plane (k8s
	# tier), the Metaflow tier's packages, the provider (rehearsal tier; it reuses Helm's packages).
	setsid nice -n 19 bash -c '
		set -uo pipefail
		step() {
			local start=$SECONDS
			if "$@" >/dev/null; then
				echo "prebuild: $* ready after $((SECONDS - start))s"
			else
				echo "prebuild: $* failed after $((SECONDS - start))s (the tier that needs it builds it again)"
			fi
		}
		step "$0/pulumi-cli.sh"
		step "$0/k8s-provider.sh" helm
		step "$0/k8s-tools.sh"
		step "$0/metaflow-deps.sh"
		step "$0/k8s-provider.sh"
	' "$hack" >"$log" 2>&1 &
	bg=$!
fi

declare -a times
for tier in "$@"; do
	start=$SECONDS
	make --no-print-directory "$tier"
	times+=("$(printf '%-16s %4ds' "$tier" $((SECONDS - start)))")
done

if [[ -n $bg ]]; then
	wait "$bg" || true
	bg=
	grep '^prebuild:' "$log" >&2 || true
fi
printf 'test.sh: %s\n' "${times[@]}" >&2
