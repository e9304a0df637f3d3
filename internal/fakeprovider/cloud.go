// Package fakeprovider serves the fake Azure (internal/fakeazure) to the real Pulumi engine as
// the azure-native, azuread and random resource providers, which cannot be built here. The
// engine then runs the whole program as on Azure: Check refuses what the conformance layer
// refuses; Diff decides update or replace from Microsoft's API contract (internal/armcontract:
// path parameters and the REST spec's create-only properties replace); Create, Read, Update
// and Delete keep state; invokes answer as the fake does, with kubeconfigs and tokens of a real
// API server when one stands in for AKS (fakeazure.ClusterAccess).
//
// The providers run in the test process and the engine dials them through
// PULUMI_DEBUG_PROVIDERS, so a test reads their state directly. The package imports no Azure
// SDK, so its tests, race detector included, build in seconds.
package fakeprovider

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"metaflow-azure/internal/armcontract"
	"metaflow-azure/internal/fakeazure"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// Packages are the providers a Cloud serves, with the plugin versions the program's SDKs ask
// the engine for (go.mod: pulumi-azure-native-sdk v2.92.0, pulumi-azuread v5.53.7,
// pulumi-random v4.21.2). With PULUMI_DEBUG_PROVIDERS the engine takes whatever version the
// provider reports.
var Packages = map[string]string{
	"azure-native": "2.92.0",
	"azuread":      "5.53.7",
	"random":       "4.21.2",
}

// Cloud is one fake Azure subscription and Entra tenant as its providers see it. It is safe for
// concurrent use: the engine calls providers from many goroutines.
type Cloud struct {
	azure     *fakeazure.Azure
	contracts *armcontract.Contracts

	mu sync.Mutex
	// byID is the state of every resource that exists, by key (see key).
	byID map[string]*fakeazure.Resource
	ops  []Op
	// watchers are told of every change (a test keeps simulated nodes in step with the pools).
	watchers []func(Event)
}

// Op is one operation a provider carried out (not previews), in order.
type Op struct {
	Kind string // create, update, delete, read
	URN  string
	Type string
	ID   string
}

// Event tells a watcher that a resource was created, updated or deleted in the fake Azure.
type Event struct {
	Kind    string // create, update, delete
	Type    string
	URN     string
	ID      string
	Inputs  resource.PropertyMap
	Outputs resource.PropertyMap
}

// New returns an empty cloud for one project and stack.
func New(project, stack string) (*Cloud, error) {
	contracts, err := armcontract.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the ARM contracts: %w", err)
	}
	return &Cloud{azure: fakeazure.New(project, stack), contracts: contracts, byID: map[string]*fakeazure.Resource{}}, nil
}

// Azure is the fake behind the providers, for settings such as the deployer's principal type
// and the cluster access.
func (c *Cloud) Azure() *fakeazure.Azure { return c.azure }

// Watch calls f after every create, update and delete, in the goroutine of the operation.
func (c *Cloud) Watch(f func(Event)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers = append(c.watchers, f)
}

// Ops returns the operations carried out so far.
func (c *Cloud) Ops() []Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ops)
}

// Resources returns every resource that exists now, ordered by ID.
func (c *Cloud) Resources() []*fakeazure.Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*fakeazure.Resource, 0, len(c.byID))
	for _, r := range c.byID {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *fakeazure.Resource) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Get returns the resource with this URN, type and ID, if it exists.
func (c *Cloud) Get(urn resource.URN, typ, id string) (*fakeazure.Resource, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[key(urn, typ, id)]
	return r, ok
}

// Server is the gRPC servers of a cloud's providers.
type Server struct {
	// DebugProviders is the value of PULUMI_DEBUG_PROVIDERS that makes the engine use them.
	DebugProviders string
	servers        []*grpc.Server
}

// Stop stops every provider server.
func (s *Server) Stop() {
	for _, g := range s.servers {
		g.Stop()
	}
}

// Serve starts one provider server per package on loopback.
func (c *Cloud) Serve(ctx context.Context) (*Server, error) {
	s := &Server{}
	var debug []string
	for _, pkg := range slices.Sorted(maps.Keys(Packages)) {
		lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("listening for the %s provider: %w", pkg, err)
		}
		g := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
		pulumirpc.RegisterResourceProviderServer(g, plugin.NewProviderServer(&provider{pkg: pkg, cloud: c}))
		go func() { _ = g.Serve(lis) }()
		s.servers = append(s.servers, g)
		debug = append(debug, fmt.Sprintf("%s:%d", pkg, lis.Addr().(*net.TCPAddr).Port))
	}
	s.DebugProviders = strings.Join(debug, ",")
	return s, nil
}

func (c *Cloud) record(op Op, ev *Event) {
	c.mu.Lock()
	c.ops = append(c.ops, op)
	watchers := slices.Clone(c.watchers)
	c.mu.Unlock()
	if ev != nil {
		for _, w := range watchers {
			w(*ev)
		}
	}
}
