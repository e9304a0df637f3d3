package services

import (
	"fmt"
	"slices"
	"sort"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// namespaceNameLabel is the label the API server puts on every namespace with its name
// (k8s.io/api v0.35.4 core/v1 well_known_labels.go:72-73, LabelMetadataName): namespace
// selectors name a namespace by it.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// DefaultDenyPolicy and DNSPolicy are the two policies every namespace of the stack gets.
const (
	DefaultDenyPolicy = "default-deny"
	DNSPolicy         = "allow-dns"
)

// NetworkPoliciesArgs configures the stack's NetworkPolicies.
type NetworkPoliciesArgs struct {
	// Namespaces are the stack's namespaces by role (RoleServices, RoleTasks, and RoleArgo and
	// RoleArgoEvents when installed); the policies of each wait for it.
	Namespaces map[string]NamespaceRef
	// ClusterCIDRs are the cluster's own ranges (pods, services, nodes, database): "outside the
	// cluster" is every address but these.
	ClusterCIDRs []string
	Flows        FlowsArgs
}

// NetworkPolicies is a default deny, ingress and egress, in every namespace the stack owns, and
// one NetworkPolicy per kind of pod that allows exactly its flows (Flows).
type NetworkPolicies struct {
	pulumi.ResourceState
}

// NewNetworkPolicies declares the policies. The charts the stack installs offer none of their
// own (argo-workflows 0.47.5, argo-events 2.4.22: no NetworkPolicy template; the chart tier
// checks the rendered releases hold none).
func NewNetworkPolicies(ctx *pulumi.Context, name string, args *NetworkPoliciesArgs, opts ...pulumi.ResourceOption) (*NetworkPolicies, error) {
	if args == nil || args.Namespaces[RoleServices].Resource == nil || args.Namespaces[RoleTasks].Resource == nil || len(args.ClusterCIDRs) == 0 {
		return nil, errNilArgs("NetworkPolicies (the services and task namespaces and the cluster's ranges)")
	}
	names := map[string]string{RoleKubeSystem: "kube-system"}
	for role, ns := range args.Namespaces {
		if ns.Resource == nil || ns.Name == "" {
			return nil, fmt.Errorf("internal-error: NetworkPolicies: namespace of role %s incomplete", role)
		}
		names[role] = ns.Name
	}
	specs, err := PolicySpecs(names, args.ClusterCIDRs, args.Flows)
	if err != nil {
		return nil, err
	}
	c := &NetworkPolicies{}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:NetworkPolicies", name, c, opts...); err != nil {
		return nil, err
	}
	for _, p := range specs {
		ns := args.Namespaces[p.Role].Resource
		if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.Role+"-"+p.Name, p.args(namespaceName(ns)), pulumi.Parent(c)); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"policies": pulumi.Int(len(specs))})
}

// NamespaceRef is a namespace the stack declared: its name, which peers select it by, and the
// resource its policies wait for.
type NamespaceRef struct {
	Name     string
	Resource *corev1.Namespace
}

// PolicySpec is one NetworkPolicy, as plain data.
type PolicySpec struct {
	Role, Name string
	// Pods are the pods it applies to.
	Pods    Pods
	Ingress []RuleSpec
	Egress  []RuleSpec
	// Types are the directions it isolates: Ingress and/or Egress.
	Types []string
}

// RuleSpec is one allow rule: traffic to or from any of Peers on any of Ports (none: all).
type RuleSpec struct {
	Peers []PeerSpec
	Ports []Port
}

// PeerSpec is pods of a namespace, or an address block.
type PeerSpec struct {
	Namespace string
	Pods      *Pods
	CIDR      string
	Except    []string
}

// PolicySpecs turns the flows into NetworkPolicies: in every namespace a default deny and the
// DNS flow, then for each kind of pod one policy with its egress and its ingress rules, isolating
// only the directions it has rules for (the default deny isolates the rest).
func PolicySpecs(namespaces map[string]string, clusterCIDRs []string, a FlowsArgs) ([]PolicySpec, error) {
	var roles []string
	for role := range namespaces {
		if role != RoleKubeSystem {
			roles = append(roles, role)
		}
	}
	sort.Strings(roles)
	var out []PolicySpec
	dns := DNSFlow()
	for _, role := range roles {
		out = append(out,
			PolicySpec{Role: role, Name: DefaultDenyPolicy, Pods: Pods{Role: role}, Types: []string{"Ingress", "Egress"}},
			PolicySpec{Role: role, Name: DNSPolicy, Pods: Pods{Role: role}, Types: []string{"Egress"},
				Egress: []RuleSpec{{Peers: []PeerSpec{{Namespace: namespaces[RoleKubeSystem], Pods: dns.To.Pods}}, Ports: dns.Ports}}},
		)
	}
	byPolicy := map[string]*PolicySpec{}
	var order []string
	get := func(p Pods) (*PolicySpec, error) {
		if _, ok := namespaces[p.Role]; !ok {
			return nil, fmt.Errorf("internal-error: a flow names pods of namespace role %q, which the stack does not have", p.Role)
		}
		if p.Policy == "" {
			return nil, fmt.Errorf("internal-error: pods %s have no policy name", p)
		}
		key := p.Role + "/" + p.Policy
		if s, ok := byPolicy[key]; ok {
			return s, nil
		}
		byPolicy[key] = &PolicySpec{Role: p.Role, Name: p.Policy, Pods: p}
		order = append(order, key)
		return byPolicy[key], nil
	}
	peerOf := func(p Pods) PeerSpec { return PeerSpec{Namespace: namespaces[p.Role], Pods: &p} }
	for _, f := range Flows(a) {
		from, err := get(f.From)
		if err != nil {
			return nil, err
		}
		var to PeerSpec
		switch d := f.To; {
		case d.Pods != nil:
			to = peerOf(*d.Pods)
			dest, err := get(*d.Pods)
			if err != nil {
				return nil, err
			}
			dest.Ingress = append(dest.Ingress, RuleSpec{Peers: []PeerSpec{peerOf(f.From)}, Ports: f.Ports})
		case d.OutsideCluster:
			to = PeerSpec{CIDR: "0.0.0.0/0", Except: slices.Clone(clusterCIDRs)}
		case d.CIDR != "":
			to = PeerSpec{CIDR: d.CIDR}
		default:
			return nil, fmt.Errorf("internal-error: a flow from %s has no destination", f.From)
		}
		from.Egress = append(from.Egress, RuleSpec{Peers: []PeerSpec{to}, Ports: f.Ports})
	}
	for _, key := range order {
		s := byPolicy[key]
		if len(s.Ingress) > 0 {
			s.Types = append(s.Types, "Ingress")
		}
		if len(s.Egress) > 0 {
			s.Types = append(s.Types, "Egress")
		}
		out = append(out, *s)
	}
	return out, nil
}

func (s PolicySpec) args(namespace pulumi.StringInput) *networkingv1.NetworkPolicyArgs {
	rules := func(rs []RuleSpec) (peers []networkingv1.NetworkPolicyPeerArray, ports []networkingv1.NetworkPolicyPortArray) {
		for _, r := range rs {
			var ps networkingv1.NetworkPolicyPeerArray
			for _, p := range r.Peers {
				ps = append(ps, p.args())
			}
			var pts networkingv1.NetworkPolicyPortArray
			for _, p := range r.Ports {
				if p.Number == 0 {
					continue
				}
				pts = append(pts, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(p.Protocol), Port: pulumi.Int(p.Number)})
			}
			peers, ports = append(peers, ps), append(ports, pts)
		}
		return peers, ports
	}
	var ingress networkingv1.NetworkPolicyIngressRuleArray
	peers, ports := rules(s.Ingress)
	for i := range peers {
		ingress = append(ingress, &networkingv1.NetworkPolicyIngressRuleArgs{From: peers[i], Ports: ports[i]})
	}
	var egress networkingv1.NetworkPolicyEgressRuleArray
	peers, ports = rules(s.Egress)
	for i := range peers {
		egress = append(egress, &networkingv1.NetworkPolicyEgressRuleArgs{To: peers[i], Ports: ports[i]})
	}
	return &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(s.Name), Namespace: namespace,
			Labels: pulumi.ToStringMap(labels(s.Name, "network-policy")),
		},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: s.Pods.selector(),
			PolicyTypes: pulumi.ToStringArray(s.Types),
			Ingress:     ingress,
			Egress:      egress,
		},
	}
}

func (p PeerSpec) args() *networkingv1.NetworkPolicyPeerArgs {
	if p.CIDR != "" {
		block := &networkingv1.IPBlockArgs{Cidr: pulumi.String(p.CIDR)}
		if len(p.Except) > 0 {
			block.Except = pulumi.ToStringArray(p.Except)
		}
		return &networkingv1.NetworkPolicyPeerArgs{IpBlock: block}
	}
	return &networkingv1.NetworkPolicyPeerArgs{
		NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(p.Namespace)}},
		PodSelector:       p.Pods.selector(),
	}
}

// selector is the label selector of the pods; empty selects every pod of the namespace.
func (p Pods) selector() *metav1.LabelSelectorArgs {
	sel := &metav1.LabelSelectorArgs{}
	if len(p.Labels) > 0 {
		sel.MatchLabels = pulumi.ToStringMap(p.Labels)
	}
	var exprs metav1.LabelSelectorRequirementArray
	for _, k := range p.Exists {
		exprs = append(exprs, &metav1.LabelSelectorRequirementArgs{Key: pulumi.String(k), Operator: pulumi.String("Exists")})
	}
	if len(exprs) > 0 {
		sel.MatchExpressions = exprs
	}
	return sel
}
