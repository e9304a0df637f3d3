#!/usr/bin/env bash
# Measures what a newcomer and CI pay on a fresh machine: a fresh clone of this repository's HEAD
# with empty Go build, module and tools caches, then
#   1. the first plan: go run ./cmd/metaflow-azure plan --stack dev
#   2. `make test` (what .ci/run runs), with the wall time of each tier
# and prints wall time, CPU-seconds (user + system) and peak memory for each, and the totals. Peak
# memory is given twice: the largest single process's resident set (as GNU time reports it), and
# the machine's memory in use (MemTotal - MemAvailable, sampled every 2 s) above what was in use
# when the step started, which counts the builds and servers that run side by side.
#
#   hack/bench-cold.sh            # everything (on 2 cores: about an hour)
#   hack/bench-cold.sh plan       # the first plan only
#   BENCH_KEEP=1 hack/bench-cold.sh   # keep the clone and caches (printed) for a look
#
# The clone sits in a temporary directory beside this repository, with ../shared linked next to
# it (the chart and rehearsal tiers read ../shared/charts). Debian packages the tiers install
# (etcd-server, nginx, python3) stay installed between runs: apt is not undone, so a machine that never had them pays about
# a minute more. Other work on the machine slows the wall times; CPU-seconds suffer less.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
work=$(mktemp -d "$(dirname "$root")/bench-cold.XXXXXX")
cleanup() {
	if [[ -z ${BENCH_KEEP:-} ]]; then
		chmod -R u+w "$work" 2>/dev/null || true
		rm -rf "$work"
	else
		echo "kept $work" >&2
	fi
}
trap cleanup EXIT

git clone -q "$root" "$work/repo"
# The chart, rehearsal and task-image tests read ../shared (the pinned charts and upstream
# sources) beside the repository, as in CI.
ln -s "$(dirname "$root")/shared" "$work/shared"
# Uncommitted work is not measured: the clone is HEAD.
export GOCACHE=$work/gocache GOMODCACHE=$work/gomodcache METAFLOW_AZURE_TOOLS_CACHE=$work/tools
export GOFLAGS="${GOFLAGS:-} -modcacherw"
mkdir -p "$GOCACHE" "$GOMODCACHE" "$METAFLOW_AZURE_TOOLS_CACHE"

total_wall=0 total_cpu=0 peak=0 machine_peak=0

# machine_used prints the machine's memory in use in KB.
machine_used() { awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }' /proc/meminfo; }

# sample_machine FILE writes the largest machine_used it sees into FILE until it is killed.
sample_machine() {
	local top=0 used
	while :; do
		used=$(machine_used)
		if ((used > top)); then
			top=$used
			echo "$top" >"$1"
		fi
		sleep 2
	done
}
# measure NAME COMMAND... runs the command in the clone, its output in $work/NAME.log, and prints
# one line of figures; it stops the run if the command fails.
measure() {
	local name=$1
	shift
	local log="$work/${name// /-}.log"
	local start=$SECONDS base sampler
	base=$(machine_used)
	echo "$base" >"$work/machine"
	sample_machine "$work/machine" &
	sampler=$!
	if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$log" 2>&1; then
		kill "$sampler" 2>/dev/null || true
		echo "$name failed; the end of its log ($log):" >&2
		tail -40 "$log" >&2
		BENCH_KEEP=1
		exit 1
	fi
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	local wall user sys rss machine
	read -r wall user sys rss <"$work/time"
	machine=$(($(cat "$work/machine") - base))
	local cpu
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
	printf '%-22s %9s %9s CPU-s %7.1f GB peak %7.1f GB machine\n' "$name" "$(clock "${wall%.*}")" "$cpu" "$(gb "$rss")" "$(gb "$machine")"
	total_wall=$((total_wall + SECONDS - start))
	total_cpu=$((total_cpu + cpu))
	if ((rss > peak)); then peak=$rss; fi
	if ((machine > machine_peak)); then machine_peak=$machine; fi
}

clock() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
gb() { awk -v k="$1" 'BEGIN { print k / 1048576 }'; }

cd "$work/repo"
printf '%-22s %9s %15s %15s %15s\n' "" wall CPU memory "machine memory"
measure "first plan" go run ./cmd/metaflow-azure plan --stack dev
if [[ $what == all ]]; then
	# As CI runs it: one `make test`, whose tools build in the background while the first tiers
	# run, so CPU-seconds are not split by tier; hack/test.sh prints each tier's wall time and
	# when each background build was ready, repeated here from its log.
	measure "make test" make test
	grep -E '^(test\.sh|prebuild): ' "$work/make-test.log" | grep -v 'log:' || true
	printf '%-22s %9s %9s CPU-s %7.1f GB peak %7.1f GB machine\n' "clone to green" "$(clock $total_wall)" "$total_cpu" "$(gb "$peak")" "$(gb "$machine_peak")"
fi
