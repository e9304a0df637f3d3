package settings

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"metaflow-azure/internal/azurefacts"
)

// The values of storage.networkAccess.
const (
	// StorageAccessPublic: any network may reach the datastore's data plane; Entra ID sign-in
	// is the only gate.
	StorageAccessPublic = "public"
	// StorageAccessAllowlist: storage.allowedCidrs and the AKS subnet (service endpoint) only.
	StorageAccessAllowlist = "allowlist"
	// StorageAccessPrivate: the VNet only, through a private endpoint.
	StorageAccessPrivate = "private"
)

// storageNetwork checks storage.networkAccess, its allowlist and the private endpoint's subnet.
func (p *problems) storageNetwork(s *Settings) {
	st := s.Storage
	if !slices.Contains(storageAccesses, st.NetworkAccess) {
		p.add("storage.networkAccess", "%q must be one of %s", st.NetworkAccess, strings.Join(storageAccesses, ", "))
		return
	}
	if st.NetworkAccess != StorageAccessAllowlist && len(st.AllowedCidrs) > 0 {
		p.add("storage.allowedCidrs", "is only read with storage.networkAccess: allowlist (it is %q); remove it or set storage.networkAccess to allowlist", st.NetworkAccess)
	}
	switch st.NetworkAccess {
	case StorageAccessAllowlist:
		p.allowedCidrs(st.AllowedCidrs)
		if len(st.AllowedCidrs) == 0 {
			p.warn("storage.allowedCidrs", "is empty, so only the cluster reaches the datastore; add the public addresses of the laptops and CI that run flows (pulumi config set --path 'storage.allowedCidrs[0]' 203.0.113.7)")
		}
	case StorageAccessPrivate:
		p.privateEndpointSubnet(s.Network)
		p.warn("storage.networkAccess", "private: only the VNet reaches the datastore; laptops that run flows need a VPN, ExpressRoute or VNet peering and DNS for %s into it (docs/security.md#storage-network-access)", azurefacts.BlobPrivateDNSZone)
	}
}

// allowedCidrs applies the storage firewall's rules for IP network rules (azurefacts).
func (p *problems) allowedCidrs(cidrs []string) {
	if len(cidrs) > azurefacts.StorageMaxIPRules {
		p.add("storage.allowedCidrs", "has %d entries; a storage account takes at most %d IP network rules", len(cidrs), azurefacts.StorageMaxIPRules)
	}
	seen := map[netip.Prefix]bool{}
	for i, c := range cidrs {
		path := fmt.Sprintf("storage.allowedCidrs[%d]", i)
		var pfx netip.Prefix
		single := false
		if a, err := netip.ParseAddr(c); err == nil {
			pfx, single = netip.PrefixFrom(a, a.BitLen()), true
		} else if pf, err := netip.ParsePrefix(c); err == nil {
			if pf.Masked() != pf {
				p.add(path, "%q has host bits set; did you mean %s?", c, pf.Masked())
				continue
			}
			pfx = pf
		} else {
			p.add(path, "%q is not an IPv4 address (203.0.113.7) or CIDR range (203.0.113.0/24)", c)
			continue
		}
		if problem := azurefacts.StorageIPRuleProblem(pfx, single); problem != "" {
			p.add(path, "%q: %s (%s)", c, problem, azurefacts.StorageNetworkSource)
			continue
		}
		if seen[pfx] {
			p.add(path, "%q is listed twice", c)
		}
		seen[pfx] = true
	}
}

// privateEndpointSubnet checks the subnet the blob private endpoint goes into.
func (p *problems) privateEndpointSubnet(n Network) {
	const path = "network.privateEndpointSubnetCidr"
	pe, ok := p.cidr(path, n.PrivateEndpointSubnetCIDR)
	if !ok {
		return
	}
	if pe.Bits() > minPrivateEndpointSubnet {
		p.add(path, "%s is too small: Azure keeps 5 addresses of every subnet, so use /%d or larger", pe, minPrivateEndpointSubnet)
	}
	if vnet, err := netip.ParsePrefix(n.VNetCIDR); err == nil && !contains(vnet, pe) {
		p.add(path, "%s must lie inside network.vnetCidr %s", pe, vnet)
	}
	for _, other := range []struct{ key, cidr string }{
		{"network.aksSubnetCidr", n.AKSSubnetCIDR}, {"network.postgresSubnetCidr", n.PostgresSubnetCIDR},
	} {
		if o, err := netip.ParsePrefix(other.cidr); err == nil && o.Overlaps(pe) {
			p.add(path, "%s overlaps %s %s; the subnets must be disjoint", pe, other.key, o)
		}
	}
}

// security checks the cluster's network policy engine and security add-ons.
func (p *problems) security(s *Settings) {
	a := s.AKS
	switch a.NetworkDataplane {
	case azurefacts.NetworkDataplaneCilium:
		if m := k8sVersionRe.FindStringSubmatch(a.KubernetesVersion); m != nil {
			minor, _ := strconv.Atoi(m[1])
			if _, ok := azurefacts.CiliumMinimumVersion(minor); !ok {
				p.add("aks.kubernetesVersion", "%q: Microsoft lists no Cilium version for 1.%d with Azure CNI powered by Cilium (it lists %s; %s); choose a listed minor or set aks.networkDataplane to azure",
					a.KubernetesVersion, minor, strings.Join(azurefacts.CiliumMinors(), ", "), azurefacts.CiliumSource)
			}
		}
	case azurefacts.NetworkDataplaneAzure:
		p.warn("aks.networkDataplane", "azure: the cluster has no network policy engine, so the stack's NetworkPolicies are declared but not enforced and every pod can reach the metadata service; move to cilium (docs/security.md#moving-a-deployed-cluster-to-cilium)")
	default:
		p.add("aks.networkDataplane", "%q must be one of %s", a.NetworkDataplane, strings.Join(networkDataplanes, ", "))
	}
	if a.Defender && !s.Monitoring.Enabled {
		p.add("aks.defender", "needs monitoring.enabled: true; the Defender profile sends its security events to the stack's Log Analytics workspace")
	}
}
