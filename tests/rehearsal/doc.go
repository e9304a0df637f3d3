//go:build rehearsal

// Package rehearsal runs the whole stack through the real Pulumi engine the way its users do,
// again and again: a first deploy, runs that change nothing, each day-2 change users make,
// refresh, destroy and an interrupted up, for dev and for prod, through metaflow-azure (the
// Automation API) and through plain `pulumi` in a project directory.
//
// What stands in for what:
//   - Azure, Entra ID and random: internal/fakeprovider, the fake Azure served to the engine as
//     the azure-native, azuread and random providers (PULUMI_DEBUG_PROVIDERS), whose Diff is
//     Microsoft's contract's and azure-native's.
//   - AKS: a real control plane on loopback (tests/internal/controlplane) with one kwok node per
//     node pool the fake AKS has, kept in step as pools come and go; its API server accepts the
//     kubeconfig the fake returns, through a token webhook that can expire tokens. Each test
//     starts its own (about 6 s), so the tests run in parallel.
//   - The Kubernetes provider: the real one, v4.25.0, built from the module proxy
//     (hack/k8s-provider.sh); it installs both Argo charts from ../shared/charts, served as an
//     HTTPS Helm repository on loopback.
//   - Pulumi: the CLI and a Go language host built from the module proxy (hack/pulumi-cli.sh).
//
// Run it with `make test-rehearsal` (go test -tags rehearsal ./tests/rehearsal/).
package rehearsal
