#!/usr/bin/env bash
# Builds the real control-plane binaries the k8sapi test tier runs, once, into a cache outside the
# repo keyed by version, and prints where they are (KEY=PATH lines on stdout; progress on stderr).
#
#   kube-apiserver, kube-controller-manager, kube-scheduler  from tools/k8s      (k8s.io/kubernetes)
#   kwok                                                      from tools/k8s/kwok (sigs.k8s.io/kwok)
#   azure-wi-webhook (Azure Workload Identity webhook)        from tools/k8s/workload-identity
#   etcd                                                      Debian etcd-server (apt), installed if missing
#   Argo Workflows / Argo Events CRDs                         Go module proxy (go mod download)
#
# A cold build of the Kubernetes binaries takes ~15 min on 2 cores; re-runs only check that the
# binaries exist. Set METAFLOW_AZURE_TOOLS_CACHE to move the cache; K8S_TOOLS_SKIP_ETCD=1 skips
# the apt install (for building in the background of a session).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${METAFLOW_AZURE_TOOLS_CACHE:-$HOME/.cache/metaflow-azure/tools}
GO=${GO:-go}

log() { printf 'k8s-tools: %s\n' "$*" >&2; }

# version_of MODULE_DIR MODULE prints the version the nested module's go.mod requires.
version_of() {
  (cd "$1" && "$GO" list -m -f '{{.Version}}' "$2")
}

# build_tool NAME VERSION MODULE_DIR PACKAGE LDFLAGS builds NAME into $CACHE/NAME-VERSION/ unless
# it is already there. It writes to a temporary name first so an interrupted build never leaves
# a half-written binary that a later run would trust. The flags are hack/k8s-provider.sh's: kwok
# and the webhook then reuse the Kubernetes packages Helm and the provider compiled (their
# modules keep those at one version: TestToolModulesShareCompiledPackages).
build_tool() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=$5
  local out="$CACHE/$name-$version/$name"
  if [[ -x "$out" ]]; then
    echo "$out"
    return
  fi
  mkdir -p "$(dirname "$out")"
  log "building $name $version (first build on this machine; kube-* take ~15 min cold on 2 cores)"
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$pkg")
  mv "$out.tmp.$$" "$out"
  log "built $name $version in $((SECONDS - start))s -> $out"
  echo "$out"
}

ensure_etcd() {
  if command -v etcd >/dev/null 2>&1; then
    command -v etcd
    return
  fi
  if [[ ${K8S_TOOLS_SKIP_ETCD:-} == 1 ]]; then
    return
  fi
  log "installing Debian etcd-server (etcd not on PATH)"
  "$ROOT/hack/apt-install.sh" etcd-server
  command -v etcd
}

# module_dir MODULE@VERSION downloads a module (the proxy serves the Argo repositories, and with
# them their CRD manifests) and prints its directory in the module cache.
module_dir() {
  (cd "$CACHE" && GOFLAGS=-mod=mod "$GO" mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

main() {
  local kdir="$ROOT/tools/k8s" wdir="$ROOT/tools/k8s/kwok" azwidir="$ROOT/tools/k8s/workload-identity"
  local kver wver azwiver minor
  kver=$(version_of "$kdir" k8s.io/kubernetes)
  wver=$(version_of "$wdir" sigs.k8s.io/kwok)
  azwiver=$(version_of "$azwidir" github.com/Azure/azure-workload-identity)
  minor=$(echo "$kver" | cut -d. -f2)
  # Without these the binaries report v0.0.0-master from /version, and clients that gate
  # behaviour on the server version (pulumi-kubernetes among them) misjudge it.
  local kflags="-X k8s.io/component-base/version.gitVersion=$kver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  local wflags="-X sigs.k8s.io/kwok/pkg/consts.Version=$wver -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$kver"

  local etcd apiserver cm sched kwok azwi azwimod
  mkdir -p "$CACHE"
  # One build at a time per tools cache (hack/test.sh builds tools in the background while the
  # first tiers run; a tier that needs these waits here for that build instead of starting another).
  exec 9>"$CACHE/.k8s-tools.lock"
  flock 9
  etcd=$(ensure_etcd)
  apiserver=$(build_tool kube-apiserver "$kver" "$kdir" k8s.io/kubernetes/cmd/kube-apiserver "$kflags")
  cm=$(build_tool kube-controller-manager "$kver" "$kdir" k8s.io/kubernetes/cmd/kube-controller-manager "$kflags")
  sched=$(build_tool kube-scheduler "$kver" "$kdir" k8s.io/kubernetes/cmd/kube-scheduler "$kflags")
  kwok=$(build_tool kwok "$wver" "$wdir" sigs.k8s.io/kwok/cmd/kwok "$wflags")
  # ~1.5 min cold on 2 cores. The module's own deploy manifest supplies the webhook
  # configuration the test registers (its objectSelector, rules and failure policy).
  azwi=$(build_tool azure-wi-webhook "$azwiver" "$azwidir" github.com/Azure/azure-workload-identity/cmd/webhook "")
  azwimod=$(cd "$azwidir" && "$GO" list -m -f '{{.Dir}}' github.com/Azure/azure-workload-identity)

  echo "ETCD=$etcd"
  echo "KUBE_APISERVER=$apiserver"
  echo "KUBE_CONTROLLER_MANAGER=$cm"
  echo "KUBE_SCHEDULER=$sched"
  echo "KWOK=$kwok"
  echo "AZURE_WI_WEBHOOK=$azwi"
  echo "AZURE_WI_MANIFEST=$azwimod/deploy/azure-wi-webhook.yaml"
  # The Argo versions match the apps of the charts the stack pins (Argo Workflows chart 0.47.x ->
  # v3.7.x, Argo Events chart 2.4.x -> v1.9.x); the CRD schemas are what the test validates against.
  echo "ARGO_WORKFLOWS_CRDS=$(module_dir "github.com/argoproj/argo-workflows/v3@${ARGO_WORKFLOWS_VERSION:-v3.7.3}")/manifests/base/crds/full"
  echo "ARGO_EVENTS_CRDS=$(module_dir "github.com/argoproj/argo-events@${ARGO_EVENTS_VERSION:-v1.9.10}")/manifests/base/crds"
}

main "$@"
