# metaflow-azure: one entry point for building and testing. `make test` is the README's test command
# and what .ci/run calls.
SHELL := /bin/bash
GO ?= go
# Built tools (Pulumi CLI, kube-apiserver, ...) are cached here, keyed by version, outside the repo.
export METAFLOW_AZURE_TOOLS_CACHE ?= $(HOME)/.cache/metaflow-azure/tools

.PHONY: all build plan test vet armcontract unit test-race test-engine test-k8s test-metaflow test-runtime test-rehearsal tools

all: build

build:
	$(GO) build ./...

# The offline plan of the dev stack: what `pulumi up` would declare, without Azure.
plan:
	$(GO) run ./cmd/metaflow-azure plan --stack dev

# Everything CI runs: formatting, vet, the offline unit and whole-stack tests, the real-engine
# tests of the CLI, the real-API-server tier, the Metaflow tier, the runtime tier and the
# rehearsal. hack/test.sh runs the first four in order, then two lanes side by side (the
# rehearsal, the longest tier; the engine, runtime, k8s and Metaflow tiers), while it builds the
# tools of the later tiers in the background (at the lowest CPU priority), and prints each tier's
# wall time.
TIERS := vet armcontract unit test-race 'test-rehearsal|test-engine,test-runtime,test-k8s,test-metaflow'
test:
	./hack/test.sh $(TIERS)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# The ARM contract data must be exactly what tools/armcontract extracts from the pinned Azure SDK
# for Go modules (hack/armcontract.sh refresh regenerates it).
armcontract:
	./hack/armcontract.sh check

unit:
	$(GO) test ./...

# The race detector on the code that runs concurrently: the fake Azure (the mock monitor's
# registrations and applies arrive on many goroutines), the plan built from it, the ARM contract
# and the providers served to the engine (test-engine runs them against the real engine with
# -race too). None imports an Azure or Kubernetes SDK, so the race builds stay small.
test-race:
	$(GO) test -race -count=1 ./internal/fakeazure/ ./internal/plan/ ./internal/armcontract/ ./internal/fakeprovider/

# The real-API-server tier (tests/k8sapi, build tag k8sapi): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok and the Azure Workload Identity webhook on loopback; every Kubernetes object the stack
# declares (dev and prod), with both Argo Helm releases rendered by real Helm from the pinned
# charts in ../shared/charts, is server-side applied and must become ready. The first run on a
# machine builds the control plane (hack/k8s-tools.sh, ~13-15 min on 2 cores) and Helm
# (hack/helm.sh, ~5 CPU-min) into $(METAFLOW_AZURE_TOOLS_CACHE); later runs take a few minutes.
test-k8s:
	./hack/helm.sh >/dev/null
	$(GO) vet -tags k8sapi ./tests/k8sapi/
	$(GO) test -tags k8sapi -count=1 -v -timeout 45m ./tests/k8sapi/

# The Metaflow tier (tests/metaflow, build tag metaflow): a data scientist's first hour against
# the dev and prod plans with the real upstream software from ../shared/upstream. The metadata
# service at the plan's image tag, laid out as its Dockerfile lays it out and migrated by the
# plan's Job command, on PostgreSQL requiring TLS; Azurite as the storage account over HTTPS with
# OAuth; an Entra stand-in that exchanges only the plan's federated credentials; Metaflow at the
# README task image's pin with exactly the stack's profile: a flow run, its artifacts read back,
# the UI backend serving run and log, `argo-workflows create` against kube-apiserver with Argo's
# CRDs (strict field validation) and Argo's JSON schemas, ArgoEvent.publish to the webhook URL.
# Each stack runs in network and mount namespaces of its own (root). Python packages from Debian,
# Azurite from npm, goose from the module proxy (hack/metaflow-deps.sh); the control plane is
# the k8s tier's. About 80 s warm.
test-metaflow:
	./hack/metaflow-deps.sh >/dev/null
	$(GO) vet -tags metaflow ./tests/metaflow/
	$(GO) test -tags metaflow -count=1 -v -timeout 30m ./tests/metaflow/

# The real-engine tier (build tag engine): the metaflow-azure engine commands run end to end with
# the pinned Pulumi CLI on a file backend in temp dirs. The first run on a machine builds the CLI
# into $(METAFLOW_AZURE_TOOLS_CACHE) (hack/pulumi-cli.sh: ~4 min wall, 2.3 GB, when the Go build cache is cold);
# built before `go test` so the build does not count against the test timeout.
test-engine:
	./hack/pulumi-cli.sh >/dev/null
	$(GO) vet -tags engine ./internal/cli/ ./internal/fakeprovider/
	$(GO) test -tags engine -count=1 -v -timeout 20m -run '^TestEngine' ./internal/cli/
	$(GO) test -race -tags engine -count=1 -v -timeout 10m ./internal/fakeprovider/

# The runtime tier (tests/runtime, build tag runtime): every container of the dev and prod plans
# runs the program its image runs (from Debian: nginx, python3) under exactly the user,
# capabilities and no_new_privs the plan declares, as PID 1, and must serve its probe path and
# stop promptly on SIGTERM; the UI with fewer capabilities must fail. Needs root; installs its
# Debian packages and the `nginx` user first (hack/runtime-deps.sh). About a minute warm.
test-runtime:
	./hack/runtime-deps.sh
	$(GO) vet -tags runtime ./tests/runtime/
	$(GO) test -tags runtime -count=1 -v -timeout 15m ./tests/runtime/

# The rehearsal tier (tests/rehearsal, build tag rehearsal): the whole stack through the real
# Pulumi engine, for dev and prod, through metaflow-azure (the Automation API) and plain pulumi:
# first deploy, no-op runs, each day-2 change, refresh (with expired tokens), `metaflow-azure
# verify` as far as kwok allows, destroy, and an interrupted up. The fake Azure is served as the azure-native, azuread and random providers; the
# real Kubernetes provider (hack/k8s-provider.sh, built once: ~1,100 CPU-seconds after Helm)
# installs the Argo charts from ../shared/charts served over HTTPS; each test gets its own control
# plane with a kwok node per AKS pool, standing in for AKS, and the tests run in parallel
# (about 5 min warm).
test-rehearsal:
	./hack/pulumi-cli.sh >/dev/null
	./hack/k8s-provider.sh >/dev/null
	$(GO) vet -tags rehearsal ./tests/rehearsal/
	$(GO) test -tags rehearsal -count=1 -v -timeout 40m ./tests/rehearsal/
