package azurefacts

import (
	"net/netip"
	"strconv"
)

// Azure CNI powered by Cilium: the network dataplane and policy engine the stack gives new
// clusters, so the NetworkPolicies it declares are enforced.
const (
	// CiliumSource is where the Cilium facts were read.
	CiliumSource = "MicrosoftDocs/azure-aks-docs @ fb060abe articles/aks/azure-cni-powered-by-cilium.md (ms.date 2026-08-05), " +
		"\"Supported Kubernetes and Cilium versions\" and \"Limitations\"; https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium"
	// NetworkDataplaneCilium and NetworkDataplaneAzure are the values of the API's
	// networkProfile.networkDataplane (enum NetworkDataplane: azure, cilium in
	// armcontainerservice v6.4.0, the contract in internal/armcontract, and azure-native
	// containerservice v20241001 pulumiEnums.go:2880).
	NetworkDataplaneCilium = "cilium"
	NetworkDataplaneAzure  = "azure"
	// NetworkPolicyCilium is networkProfile.networkPolicy "cilium": "Use Cilium to enforce network
	// policies. This requires networkDataplane to be 'cilium'." (azure-native containerservice
	// v20241001 pulumiEnums.go:3555; enum NetworkPolicy: azure, calico, cilium, none).
	NetworkPolicyCilium = "cilium"
	// DataplaneMigrationSource: an existing Azure CNI cluster moves to the Cilium dataplane with
	// `az aks update --network-dataplane cilium`, which reimages every node pool at once; Cilium
	// enforces policies only once every node is reimaged. Only that direction is documented.
	DataplaneMigrationSource = "MicrosoftDocs/azure-aks-docs @ fb060abe articles/aks/update-azure-cni.md, \"Update the data plane to Azure CNI Powered by Cilium\"; https://learn.microsoft.com/azure/aks/update-azure-cni"
	// DataplaneMigrationCommand is that command, with the stack's names filled in by the caller.
	DataplaneMigrationCommand = "az aks update --resource-group %s --name %s --network-dataplane cilium"
)

// ciliumMinimums is Microsoft's table "minimum Cilium version for each Kubernetes version" of
// Azure CNI powered by Cilium (CiliumSource). AKS picks the Cilium version; a minor missing here
// is one Microsoft does not list for Cilium.
func ciliumMinimums() map[int]string {
	return map[int]string{
		31: "1.16.16", // 1.31 (LTS)
		32: "1.17.9",  // 1.32 (LTS)
		33: "1.17.9",  // 1.33 (LTS)
		34: "1.18.6",
		35: "1.18.6",
		36: "1.18.9",
	}
}

// CiliumMinimumVersion is the minimum Cilium version AKS runs on a Kubernetes minor with Azure CNI
// powered by Cilium, and whether Microsoft's table lists the minor at all.
func CiliumMinimumVersion(minor int) (string, bool) {
	v, ok := ciliumMinimums()[minor]
	return v, ok
}

// CiliumMinors lists the Kubernetes minors Microsoft's Cilium table names, as "1.N".
func CiliumMinors() []string {
	var out []string
	for m := 0; m < 100; m++ {
		if _, ok := ciliumMinimums()[m]; ok {
			out = append(out, "1."+strconv.Itoa(m))
		}
	}
	return out
}

// The Azure Policy add-on for AKS: its addonProfiles key (Azure CLI: CONST_AZURE_POLICY_ADDON_NAME
// = "azurepolicy", the key `az aks enable-addons --addons azure-policy` writes; Azure/azure-cli @
// 0158ef96 src/azure-cli/azure/cli/command_modules/acs/_consts.py). The benchmark's policy
// "Azure Policy Add-on for Kubernetes service (AKS) should be installed and enabled on your
// clusters" reads addonProfiles.azurePolicy.enabled (Azure/azure-policy @ f4a50bac
// built-in-policies/policyDefinitions/Kubernetes/AKS_AzurePolicyAddOn_Audit.json; policy aliases
// ignore case).
const AzurePolicyAddon = "azurepolicy"

// Storage account network access (the storage.networkAccess setting).
const (
	// StorageNetworkSource is where the storage firewall's rules were read.
	StorageNetworkSource = "MicrosoftDocs/azure-docs @ 03e5750a articles/storage/common/storage-network-security-limitations.md (ms.date 2025-06-18), \"Restrictions for IP network rules\""
	// StorageMaxIPRules: Microsoft's storage limits table says 200 IP address rules per account in
	// older versions and 400 in the newest read (MicrosoftDocs/azure-docs include, ms.date
	// 2025-11-19); the stack allows the number every version agrees on.
	StorageMaxIPRules = 200
	// StorageServiceEndpoint is the service a subnet's service endpoint names for Azure Storage
	// (MicrosoftDocs/azure-docs @ 003bad58 articles/virtual-network/virtual-network-service-endpoints-overview.md:
	// "Azure Storage (Microsoft.Storage)"). "IP network rules have no effect on requests that
	// originate from the same Azure region as the storage account": the cluster, in the stack's
	// region, is let in by a virtual network rule on its subnet through this endpoint.
	StorageServiceEndpoint = "Microsoft.Storage"
	// BlobPrivateDNSZone and BlobPrivateLinkGroup: the private DNS zone and sub-resource of a blob
	// private endpoint (MicrosoftDocs/azure-docs @ 0095ac36 articles/private-link/private-endpoint-dns.md:
	// "Storage account (Microsoft.Storage/storageAccounts) / Blob (blob, blob_secondary) |
	// privatelink.blob.core.windows.net").
	BlobPrivateDNSZone   = "privatelink.blob.core.windows.net"
	BlobPrivateLinkGroup = "blob"
)

// StorageIPRuleProblem says why an allowlist entry cannot be a storage IP network rule, or ""
// when it can. Rules (StorageNetworkSource): IPv4 only; public addresses only, none of the RFC 1918
// ranges (netip's IsPrivate for IPv4), since traffic from a virtual network comes through a
// virtual network rule; a single address or a CIDR range, but no /31 or /32 prefix. single says
// the entry was written as one address rather than as a range.
func StorageIPRuleProblem(p netip.Prefix, single bool) string {
	switch {
	case !p.Addr().Is4():
		return "the storage firewall takes IPv4 addresses only"
	case p.Addr().IsPrivate():
		return "a private range (10/8, 172.16/12, 192.168/16); the storage firewall takes public addresses only, and a virtual network comes in through a virtual network rule"
	case !single && (p.Bits() == 31 || p.Bits() == 32):
		return "the storage firewall does not take /31 or /32 ranges; give each address on its own"
	}
	return ""
}
