// Package controlplane starts a throwaway Kubernetes control plane on loopback for the test
// tiers that need a real API server: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, which simulates the nodes and their pods, from the binaries
// hack/k8s-tools.sh builds. It has no build tag so `go vet ./...` checks it; only the tiers
// (build tags k8sapi, rehearsal) import it, so a plain `go test ./...` starts nothing.
package controlplane
