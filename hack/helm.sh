#!/usr/bin/env bash
# Prints the path of the Helm binary the chart tier of tests/k8sapi renders the pinned Argo
# charts with (helm template), exactly as a release would. It is the Helm of tools/k8sprovider,
# the one the Kubernetes provider installs charts with; hack/k8s-provider.sh builds it once into
# the tools cache (Helm's releases cannot be downloaded here; the Go module proxy serves it).
set -euo pipefail
"$(dirname "$0")/k8s-provider.sh" helm | sed -n 's/^HELM=//p'
