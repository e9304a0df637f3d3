#!/usr/bin/env bash
# Runs the test tiers named as arguments (make targets) the way `make test` does, while building
# the tools the later tiers need in the background.
#
#   ./hack/test.sh vet unit 'test-engine,test-rehearsal|test-runtime,test-k8s'
#
# Arguments run one after another. An argument with `|` runs its lanes at the same time, each lane
# its `,`-separated tiers in order; it ends when every lane has ended. The first lane prints as it
# goes, and each other lane's output is printed whole when the stage ends (and kept in a log).
#
# Why: on a fresh machine about two thirds of `make test` is building tools (the Pulumi CLI, Helm,
# the control plane, the Kubernetes provider), and the first tiers (vet, unit, race) leave much of
# the CPU idle while their tests run. The background builds run at the lowest CPU priority, so
# they take only what the tiers leave; each tool script holds a lock per tool, so a tier that
# needs a tool still being built waits for that build rather than starting a second one. The late
# tiers are independent of each other (each starts its own control planes and servers on ports
# it picks), and the rehearsal alone leaves most of a core idle: lanes run them side by side.
# On a machine whose tools cache is warm the background pass only finds every tool cached.
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
	# Two chains side by side, each in the order its tiers need them: the CLI (engine tier), Helm
	# and the provider (rehearsal tier; it reuses Helm's packages); the control plane (k8s,
	# Metaflow and rehearsal tiers) and the Metaflow tier's packages. Measured on a fresh
	# 2-core machine, the memory in use peaked 4.6 GB above idle with both chains and the tiers.
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
		{ step "$0/pulumi-cli.sh"; step "$0/k8s-provider.sh" helm; step "$0/k8s-provider.sh"; } &
		{ step "$0/k8s-tools.sh"; step "$0/metaflow-deps.sh"; } &
		wait
	' "$hack" >"$log" 2>&1 &
	bg=$!
fi

lanes_dir=$(mktemp -d "${TMPDIR:-/tmp}/metaflow-azure-test.XXXXXX")
times="$lanes_dir/times"
: >"$times"

# run_lane TIER... runs the tiers in order and records each one's wall time; it stops at the
# first tier that fails.
run_lane() {
	local tier start
	for tier in "$@"; do
		start=$SECONDS
		if ! make --no-print-directory "$tier"; then
			printf '%-16s %4ds FAILED\n' "$tier" $((SECONDS - start)) >>"$times"
			return 1
		fi
		printf '%-16s %4ds\n' "$tier" $((SECONDS - start)) >>"$times"
	done
}

# run_stage ARG runs one argument: a tier, or lanes of tiers at the same time.
run_stage() {
	local -a lanes tiers pids
	local i failed=0
	IFS='|' read -ra lanes <<<"$1"
	if ((${#lanes[@]} == 1)); then
		IFS=',' read -ra tiers <<<"$1"
		run_lane "${tiers[@]}"
		return
	fi
	for i in "${!lanes[@]}"; do
		IFS=',' read -ra tiers <<<"${lanes[i]}"
		if ((i == 0)); then
			{ rc=0; run_lane "${tiers[@]}" || rc=$?; echo $rc >"$lanes_dir/$i.rc"; } 2>&1 | tee "$lanes_dir/$i.log" &
		else
			echo "test.sh: lane ${lanes[i]} runs alongside; its output follows when the stage ends (log: $lanes_dir/$i.log)" >&2
			{ rc=0; run_lane "${tiers[@]}" || rc=$?; echo $rc >"$lanes_dir/$i.rc"; } >"$lanes_dir/$i.log" 2>&1 &
		fi
		pids+=($!)
	done
	# Only the lanes: a bare wait would also wait for the background builds.
	wait "${pids[@]}"
	for i in "${!lanes[@]}"; do
		if ((i > 0)); then
			echo "test.sh: ===== output of lane ${lanes[i]} =====" >&2
			cat "$lanes_dir/$i.log"
		fi
		if [[ $(cat "$lanes_dir/$i.rc" 2>/dev/null) != 0 ]]; then
			echo "test.sh: lane ${lanes[i]} failed" >&2
			failed=1
		fi
	done
	return $failed
}

status=0
for stage in "$@"; do
	if ! run_stage "$stage"; then
		status=1
		break
	fi
done

if [[ -n $bg ]]; then
	# After a failure nobody needs the rest of the tools: stop the builds rather than wait.
	if ((status)); then stop_background; else wait "$bg" || true; fi
	bg=
	grep '^prebuild:' "$log" >&2 || true
fi
sed 's/^/test.sh: /' "$times" >&2
((status)) || rm -rf "$lanes_dir"
exit $status
