// Package fakeazure is a fake Azure (and Microsoft Entra, and Kubernetes) for Pulumi's mock
// monitor: it answers registrations and invokes the way the real providers do — ARM IDs, FQDNs,
// blob endpoints, principal ids, a kubeconfig from the AKS credentials invoke — and records every
// registration with its parent, provider, options and dependencies. The whole-stack tests and the
// offline plan run the real program against it.
package fakeazure

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SecretMarker starts every secret value the fake makes up, so tests can search any output for
// a leaked secret. It has no run of three letters or digits, so it survives the stack's
// password guard (infra.BreakAlphanumericRuns) unchanged.
const SecretMarker = "fa-ke-se-cr-et-"

// Identity of the fake tenant.
const (
	SubscriptionID   = "00000000-0000-4000-8000-00000000cafe"
	TenantID         = "00000000-0000-4000-8000-00000000beef"
	DeployerObjectID = "00000000-0000-4000-8000-00000000d00d"
	DeployerClientID = "00000000-0000-4000-8000-00000000c11e"
)

// Resource is one registration as the engine would see it.
type Resource struct {
	URN    string
	Type   string
	Name   string
	ID     string
	Custom bool
	Parent string
	// Provider is the URN of the resource's explicit provider; empty for default providers.
	Provider string
	Protect  bool
	// RetainOnDelete keeps the cloud resource when Pulumi deletes it.
	RetainOnDelete bool
	// Dependencies are every resource the engine waits for before creating this one: explicit
	// dependsOn and the resources its inputs came from.
	Dependencies         []string
	PropertyDependencies map[string][]string
	IgnoreChanges        []string
	AdditionalSecrets    []string
	Inputs               resource.PropertyMap
	Outputs              resource.PropertyMap
	// Order is the position in which the registration arrived.
	Order int
}

// Invoke is one function call the program made.
type Invoke struct {
	Token string
	Args  resource.PropertyMap
}

// Azure is the fake. It is safe for concurrent use, as the Pulumi SDK registers resources from
// many goroutines.
type Azure struct {
	project, stack string

	mu        sync.Mutex
	resources []*Resource
	invokes   []Invoke
	// previous are the stack outputs of the last deployment, as a stack reference to the
	// stack itself reads them.
	previous map[string]any
	// contracts checks requests against Microsoft's published API contracts.
	contracts Checker
	// deployerType is the kind of principal the deployer signs in as: User or ServicePrincipal.
	deployerType string
	// access, when set, makes the fake's clusters reachable: kubeconfigs name its server and
	// carry its credentials, and Entra tokens are its tokens (see ClusterAccess).
	access ClusterAccess
	// deployed are AKS clusters that exist in Azure before the run (by name), with the
	// networkDataplane Azure reports for each: what a cluster changed outside the stack looks
	// like to the program's reads.
	deployed map[string]string
}

// SetDeployedCluster makes a cluster exist in Azure with a network dataplane ("" reports none,
// as AKS does for a cluster created without one), for getManagedCluster; an empty name stands
// for any cluster the program asks about.
func (a *Azure) SetDeployedCluster(name, dataplane string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deployed == nil {
		a.deployed = map[string]string{}
	}
	a.deployed[name] = dataplane
}

// ClusterAccess stands for a real API server behind the fake's AKS clusters, for runs through
// the real engine and the real Kubernetes provider: the server and CA a cluster's kubeconfig
// names, the static clusterUser token of a cluster with local accounts, and the Entra access
// tokens the deployer gets.
type ClusterAccess interface {
	// Server is the API server URL and the PEM CA certificate of a cluster.
	Server(cluster string) (url string, caPEM []byte)
	// ClusterUserToken is the bearer token of the clusterUser credential AKS returns for a
	// cluster with local accounts.
	ClusterUserToken(cluster string) string
	// AccessToken is an Entra access token of the deployer for an audience.
	AccessToken(audience string) string
}

// SetClusterAccess makes kubeconfigs and tokens those of a real API server.
func (a *Azure) SetClusterAccess(c ClusterAccess) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.access = c
}

func (a *Azure) clusterAccess() ClusterAccess {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.access
}

// SetDeployerPrincipalType makes the deployer sign in as a User (the default, like az login) or
// a ServicePrincipal (like CI).
func (a *Azure) SetDeployerPrincipalType(t string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deployerType = t
}

// principalType is the type Entra ID knows a principal by, if the fake knows the principal.
func (a *Azure) principalType(objectID string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if objectID == DeployerObjectID {
		return a.deployerType, true
	}
	for _, r := range a.resources {
		switch r.Type {
		case "azuread:index/servicePrincipal:ServicePrincipal":
			if str(r.Outputs, "objectId") == objectID {
				return "ServicePrincipal", true
			}
		case "azure-native:managedidentity:UserAssignedIdentity":
			if str(r.Outputs, "principalId") == objectID {
				return "ServicePrincipal", true
			}
		}
	}
	return "", false
}

// accessToken is an unsigned JWT shaped like Entra's for the deployer and an audience: user
// tokens carry scp, app-only tokens idtyp "app".
func (a *Azure) accessToken(audience string) string {
	a.mu.Lock()
	kind := a.deployerType
	a.mu.Unlock()
	claims := map[string]any{"aud": audience, "oid": DeployerObjectID, "tid": TenantID}
	if kind == "ServicePrincipal" {
		claims["idtyp"], claims["appid"] = "app", DeployerClientID
	} else {
		claims["scp"], claims["upn"] = "user_impersonation", "deployer@example.com"
	}
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return SecretMarker + enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "." + hash(audience)[:12]
}

// SetPreviousOutputs makes the fake answer a stack reference to the stack being run with these
// outputs, as if it had been deployed with them.
func (a *Azure) SetPreviousOutputs(outputs map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.previous = outputs
}

// New returns an empty fake for one project and stack.
func New(project, stack string) *Azure {
	return &Azure{project: project, stack: stack, contracts: publishedContracts(), deployerType: "User"}
}

// Run runs a Pulumi program against the fake with the given stack config.
func (a *Azure) Run(config map[string]string, program pulumi.RunFunc) error {
	return pulumi.RunErr(program, pulumi.WithMocks(a.project, a.stack, a), func(info *pulumi.RunInfo) {
		info.Config = config
	})
}

// Resources returns the registrations in a stable dependency order: a resource comes after its
// parent, provider and dependencies; ties are broken by URN. The SDK registers concurrently, so
// arrival order is not stable between runs.
func (a *Azure) Resources() []*Resource {
	a.mu.Lock()
	all := slices.Clone(a.resources)
	a.mu.Unlock()
	byURN := make(map[string]*Resource, len(all))
	for _, r := range all {
		byURN[r.URN] = r
	}
	slices.SortFunc(all, func(x, y *Resource) int { return strings.Compare(x.URN, y.URN) })
	var ordered []*Resource
	done := map[string]bool{}
	var visit func(r *Resource)
	visit = func(r *Resource) {
		if done[r.URN] {
			return
		}
		done[r.URN] = true
		before := append([]string{r.Parent, r.Provider}, r.Dependencies...)
		slices.Sort(before)
		for _, u := range before {
			if dep, ok := byURN[u]; ok {
				visit(dep)
			}
		}
		ordered = append(ordered, r)
	}
	for _, r := range all {
		visit(r)
	}
	return ordered
}

// Invokes returns the function calls the program made.
func (a *Azure) Invokes() []Invoke {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.invokes)
}

// providerURN strips the "::<id>" the engine appends to provider references.
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 && strings.HasPrefix(ref, "urn:pulumi:") {
		return ref[:i]
	}
	return ref
}

// NewResource answers a registration like the provider behind its type would.
func (a *Azure) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	outputs := args.Inputs.Copy()
	id := ""
	if args.ReadRPC != nil && args.TypeToken == "pulumi:pulumi:StackReference" {
		a.mu.Lock()
		previous := a.previous
		a.mu.Unlock()
		outputs = resource.PropertyMap{
			"name":              resource.NewStringProperty(str(args.Inputs, "name")),
			"outputs":           resource.NewObjectProperty(resource.NewPropertyMapFromMap(previous)),
			"secretOutputNames": resource.NewArrayProperty(nil),
		}
		id = str(args.Inputs, "name")
	}
	if args.Custom {
		if refusals := a.Conform(args.TypeToken, args.Name, args.Inputs); len(refusals) > 0 {
			errs := make([]error, len(refusals))
			for i := range refusals {
				errs[i] = &refusals[i]
			}
			return "", nil, errors.Join(errs...)
		}
		var err error
		id, err = fill(args.TypeToken, args.Name, args.Inputs, outputs)
		if err != nil {
			return "", nil, err
		}
	}
	r := &Resource{Type: args.TypeToken, Name: args.Name, ID: id, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Provider = providerURN(rpc.GetProvider())
		r.Protect = rpc.GetProtect()
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.AdditionalSecrets = rpc.GetAdditionalSecretOutputs()
		deps := map[string]bool{}
		for _, d := range rpc.GetDependencies() {
			deps[d] = true
		}
		r.PropertyDependencies = map[string][]string{}
		for k, v := range rpc.GetPropertyDependencies() {
			r.PropertyDependencies[k] = slices.Sorted(slices.Values(v.GetUrns()))
			for _, d := range v.GetUrns() {
				deps[d] = true
			}
		}
		for d := range deps {
			r.Dependencies = append(r.Dependencies, d)
		}
		slices.Sort(r.Dependencies)
	}
	for _, k := range r.AdditionalSecrets {
		if v, ok := outputs[resource.PropertyKey(k)]; ok && !v.IsSecret() {
			outputs[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	r.URN = a.urn(r.Parent, r.Type, r.Name)
	r.Outputs = outputs

	a.mu.Lock()
	r.Order = len(a.resources)
	a.resources = append(a.resources, r)
	a.mu.Unlock()
	return id, outputs, nil
}

// urn builds a URN the way the engine (and the mock monitor) does.
func (a *Azure) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(a.stack), tokens.PackageName(a.project), parentType, tokens.Type(typ), name))
}

// Call answers invokes.
func (a *Azure) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	a.mu.Lock()
	a.invokes = append(a.invokes, Invoke{Token: args.Token, Args: args.Args})
	a.mu.Unlock()
	switch args.Token {
	case "azure-native:authorization:getClientConfig":
		return resource.NewPropertyMapFromMap(map[string]any{
			"clientId": DeployerClientID, "objectId": DeployerObjectID,
			"subscriptionId": SubscriptionID, "tenantId": TenantID,
		}), nil
	case "azuread:index/getClientConfig:getClientConfig":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": DeployerClientID + "-" + DeployerObjectID, "clientId": DeployerClientID,
			"objectId": DeployerObjectID, "tenantId": TenantID,
		}), nil
	case "azure-native:authorization:getClientToken":
		// An Entra access token for the audience asked for (ARM when none is).
		audience := str(args.Args, "endpoint")
		if audience == "" {
			audience = "https://management.azure.com/"
		}
		token := a.accessToken(audience)
		if access := a.clusterAccess(); access != nil && audience != "https://management.azure.com/" {
			token = access.AccessToken(audience)
		}
		return resource.PropertyMap{"token": resource.NewStringProperty(token)}, nil
	case "azure-native:containerservice/v20241001:getManagedCluster":
		cluster := str(args.Args, "resourceName")
		a.mu.Lock()
		dataplane, ok := a.deployed[cluster]
		if !ok {
			dataplane, ok = a.deployed[""]
		}
		a.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("fakeazure: getManagedCluster: ResourceNotFound: managed cluster %q in resource group %q was not found", cluster, str(args.Args, "resourceGroupName"))
		}
		profile := resource.PropertyMap{"networkPlugin": resource.NewStringProperty("azure"), "networkPluginMode": resource.NewStringProperty("overlay")}
		if dataplane != "" {
			profile["networkDataplane"] = resource.NewStringProperty(dataplane)
			profile["networkPolicy"] = resource.NewStringProperty(dataplane)
		}
		return resource.PropertyMap{"name": resource.NewStringProperty(cluster), "networkProfile": resource.NewObjectProperty(profile)}, nil
	case "azure-native:containerservice/v20241001:listManagedClusterUserCredentials":
		rg, cluster := str(args.Args, "resourceGroupName"), str(args.Args, "resourceName")
		if rg == "" || cluster == "" {
			return nil, fmt.Errorf("listManagedClusterUserCredentials: resourceGroupName and resourceName are required")
		}
		entra := a.clusterHasEntraID(cluster)
		kubeconfig := Kubeconfig(rg, cluster)
		if entra {
			kubeconfig = EntraKubeconfig(rg, cluster)
		}
		if access := a.clusterAccess(); access != nil {
			server, ca := access.Server(cluster)
			credentials := fmt.Sprintf("    token: %s\n", access.ClusterUserToken(cluster))
			if entra {
				credentials = entraExec
			}
			kubeconfig = kubeconfigAt(cluster, clusterUser(rg, cluster), server, base64.StdEncoding.EncodeToString(ca), credentials)
		}
		return resource.PropertyMap{"kubeconfigs": resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewObjectProperty(resource.PropertyMap{
				"name":  resource.NewStringProperty("clusterUser"),
				"value": resource.NewStringProperty(base64.StdEncoding.EncodeToString([]byte(kubeconfig))),
			}),
		})}, nil
	}
	return nil, fmt.Errorf("fakeazure: no fake for function %s", args.Token)
}

// Kubeconfig is the cluster-user kubeconfig AKS would return for a cluster with local accounts:
// a bearer token.
func Kubeconfig(resourceGroup, cluster string) string {
	user := clusterUser(resourceGroup, cluster)
	return kubeconfigFor(cluster, user, fmt.Sprintf("    token: %skube-token-%s\n", SecretMarker, hash(user)[:16]))
}

// EntraKubeconfig is the cluster-user kubeconfig AKS returns for a cluster with AKS-managed
// Microsoft Entra ID: an exec kubeconfig whose kubelogin signs in with a device code.
func EntraKubeconfig(resourceGroup, cluster string) string {
	return kubeconfigFor(cluster, clusterUser(resourceGroup, cluster), entraExec)
}

// entraExec is the user credential of AKS's cluster-user kubeconfig for an Entra cluster.
var entraExec = fmt.Sprintf(`    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args:
      - get-token
      - --login
      - devicecode
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --client-id
      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a
      - --tenant-id
      - %s
      - --environment
      - AzurePublicCloud
      interactiveMode: IfAvailable
      provideClusterInfo: false
`, TenantID)

func clusterUser(resourceGroup, cluster string) string {
	return fmt.Sprintf("clusterUser_%s_%s", resourceGroup, cluster)
}

// kubeconfigFor is the kubeconfig around one user's credentials (YAML under "user:").
func kubeconfigFor(cluster, user, credentials string) string {
	server := fmt.Sprintf("https://%s-%s.hcp.westeurope.azmk8s.io:443", cluster, hash(cluster)[:8])
	ca := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nfake-ca\n-----END CERTIFICATE-----\n"))
	return kubeconfigAt(cluster, user, server, ca, credentials)
}

func kubeconfigAt(cluster, user, server, ca, credentials string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    certificate-authority-data: %[2]s
    server: %[3]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[4]s
current-context: %[1]s
users:
- name: %[4]s
  user:
%[5]s`, cluster, ca, server, user, credentials)
}

// clusterHasEntraID reports whether a declared cluster has AKS-managed Microsoft Entra ID.
func (a *Azure) clusterHasEntraID(cluster string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.resources {
		if strings.HasSuffix(r.Type, ":ManagedCluster") && str(r.Inputs, "resourceName") == cluster {
			if aad, ok := r.Inputs["aadProfile"]; ok && aad.IsObject() {
				if m, ok := aad.ObjectValue()["managed"]; ok && m.IsBool() && m.BoolValue() {
					return true
				}
			}
		}
	}
	return false
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// guid makes a stable GUID from a seed, so runs are reproducible.
func guid(seed string) string {
	h := hash(seed)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

func str(m resource.PropertyMap, key string) string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Output is one resolved stack output.
type Output struct {
	Value  any
	Secret bool
}

// RunDeclare runs a program that returns its outputs instead of exporting them, and returns
// them resolved, with their secretness. The values are collected by one apply over all of them
// and handed over through a channel, so reading them after the run cannot race with the apply
// that writes them, and an output that never resolved is an error, not a silent nil.
func (a *Azure) RunDeclare(config map[string]string, declare func(*pulumi.Context) (pulumi.Map, error)) (map[string]Output, error) {
	type resolved struct {
		values []any
	}
	done := make(chan resolved, 1)
	var names []string
	var outputs []pulumi.Output
	var programErr error
	err := a.Run(config, func(ctx *pulumi.Context) error {
		declared, err := declare(ctx)
		if err != nil {
			programErr = err
			return err
		}
		names = slices.Sorted(maps.Keys(declared))
		all := make([]any, len(names))
		for i, name := range names {
			o := pulumi.ToOutput(declared[name])
			outputs = append(outputs, o)
			all[i] = o
		}
		pulumi.All(all...).ApplyT(func(vs []any) []any {
			done <- resolved{values: vs}
			return vs
		})
		return nil
	})
	if programErr != nil {
		// The SDK wraps a program's error in a one-item multierror; the program's own words
		// are what a user needs.
		return nil, programErr
	}
	if err != nil {
		return nil, err
	}
	var got resolved
	select {
	case got = <-done:
	default:
		return nil, fmt.Errorf("fakeazure: the stack outputs had not resolved when the program finished")
	}
	result := make(map[string]Output, len(names))
	for i, name := range names {
		result[name] = Output{Value: got.values[i], Secret: pulumi.IsSecret(outputs[i])}
	}
	return result, nil
}

// arr is the array at key, or nil.
func arr(m resource.PropertyMap, key string) []resource.PropertyValue {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsArray() {
		return nil
	}
	return v.ArrayValue()
}
