// Package k8sapi is the real-API-server test tier: it starts etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok on loopback, applies every Kubernetes object
// the stack declares with server-side apply, and asserts that each becomes ready and that every
// reference between them resolves. Everything else in the package sits behind the build tag
// `k8sapi` (run it with `make test-k8s`), so a plain `go test ./...` neither builds nor runs it.
package k8sapi
