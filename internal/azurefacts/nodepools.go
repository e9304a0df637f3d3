package azurefacts

import "slices"

// AKS node pool limits, from Microsoft's AKS quotas table.
const (
	NodePoolLimitsSource = "AKS service quotas and limits: MicrosoftDocs/azure-docs includes/container-service-limits.md @ 03adcc30 (ms.date 2024-01-12), included by https://learn.microsoft.com/azure/aks/quotas-skus-regions"
	// MaxNodesPerPool: "Maximum nodes per node pool (Virtual Machine Scale Sets node pools) | 1000".
	MaxNodesPerPool = 1000
	// MaxNodesPerCluster: "Maximum nodes per cluster with Virtual Machine Scale Sets and
	// Standard Load Balancer SKU | 5000 across all node-pools".
	MaxNodesPerCluster = 5000
	// MaxNodePoolsPerCluster: "Maximum node pools per cluster | 100".
	MaxNodePoolsPerCluster = 100
)

// Spot node pools, from Microsoft's "Add an Azure Spot node pool" article.
const (
	SpotSource = "MicrosoftDocs/azure-aks-docs articles/aks/spot-node-pool.md @ 31e1f80a (ms.date 2025-04-06), https://learn.microsoft.com/azure/aks/spot-node-pool"
	// SpotPriority is the scaleSetPriority of a Spot pool (enum ScaleSetPriority: Regular, Spot).
	SpotPriority = "Spot"
	// SpotEvictionDelete: "When you set the eviction policy to Delete, nodes in the underlying
	// scale set of the node pool are deleted when they're evicted"; Deallocate keeps them, and
	// "Nodes in the stopped-deallocated state count against your compute quota".
	SpotEvictionDelete = "Delete"
	// SpotLabelKey and SpotLabelValue: "A Spot node pool has the
	// kubernetes.azure.com/scalesetpriority:spot label"; the pool's nodeLabels show it.
	SpotLabelKey   = "kubernetes.azure.com/scalesetpriority"
	SpotLabelValue = "spot"
	// SpotTaint: "... the kubernetes.azure.com/scalesetpriority=spot:NoSchedule taint"; the
	// pool's nodeTaints show it.
	SpotTaint = SpotLabelKey + "=" + SpotLabelValue + ":" + SpotTaintEffect
	// SpotTaintEffect is the effect of SpotTaint.
	SpotTaintEffect = "NoSchedule"
	// SpotMaxPriceOnDemand: "If you set the max price to -1, the instance won't be evicted
	// based on price"; otherwise "a positive value with up to five decimal places" (USD/hour).
	SpotMaxPriceOnDemand = -1.0
	SpotMaxPriceDecimals = 5
	// SpotUpgradeSurge is false: "There are no surge nodes available for Spot node pool
	// upgrades", so a Spot pool needs no spare subnet address for a surge node.
	SpotUpgradeSurge = false
)

// ReservedLabelPrefixesSource is where ReservedLabelPrefixes was read.
const ReservedLabelPrefixesSource = "MicrosoftDocs/azure-aks-docs articles/aks/use-labels.md @ 07fd2900 (ms.date 2024-06-10), \"Reserved prefixes\", https://learn.microsoft.com/azure/aks/use-labels"

// ReservedLabelPrefixes "are AKS reserved prefixes and can't be used for any node".
func ReservedLabelPrefixes() []string { return []string{"kubernetes.azure.com/", "kubernetes.io/"} }

// GPU nodes on AKS.
const (
	GPUSource = "MicrosoftDocs/azure-aks-docs articles/aks/gpu-cluster.md @ 002d7f48, https://learn.microsoft.com/azure/aks/gpu-cluster"
	// GPUDriverManagedByAKS: "By default, Microsoft automatically maintains the version of the
	// NVidia drivers as part of the node image deployment ... While the NVidia drivers are
	// installed by default on GPU capable nodes, you need to install the device plugin."
	GPUDriverManagedByAKS = true
	// GPUProfileInAPI is whether the AKS API version the stack sends (2024-10-01) has an agent
	// pool gpuProfile (AKS-managed GPU software): it does not. Its agent pool properties have
	// only gpuInstanceProfile (MIG partitioning: MIG1g … MIG7g), per armcontainerservice/v6
	// v6.4.0, the contract in internal/armcontract/data/Microsoft.ContainerService_2024-10-01.json.
	// So the stack installs NVIDIA's device plugin itself (internal/images, services).
	GPUProfileInAPI = false
	// GPUResource is the extended resource the device plugin advertises and Metaflow's
	// @kubernetes(gpu=N) requests with the default gpu_vendor nvidia ("%s.com/gpu" %
	// gpu_vendor: Netflix/metaflow@2.19.38 metaflow/plugins/kubernetes/kubernetes_job.py:180,
	// metaflow_config.py:415).
	GPUResource = "nvidia.com/gpu"
)

// GPUSeries is a VM size series with NVIDIA GPUs that AKS can run, with its sizes and how many
// GPUs each has.
type GPUSeries struct {
	Series string
	GPU    string
	// Sizes maps each size name to its GPU count (the series page's Accelerators tab).
	Sizes  map[string]int
	Source string
}

const computeDocs = "MicrosoftDocs/azure-compute-docs articles/virtual-machines/sizes/gpu-accelerated/"

// NVIDIAGPUSeries are the GPU-accelerated (N-family) series the stack accepts for gpu pools:
// NVIDIA GPUs, so the NVIDIA device plugin makes nvidia.com/gpu schedulable. AMD-GPU series
// (NVv4, which gpu-cluster.md says "aren't supported on AKS", NGads V620, NVads V710 v5,
// ND MI300X v5) are not NVIDIA and are left out. NCv3 (V100), which gpu-cluster.md still names
// as the minimum, is left out too: ncv3-series.md @ 1827cf35 says "The NCv3-series will be
// retired on September 30, 2025". Other NVIDIA series can be added with their page as source.
func NVIDIAGPUSeries() []GPUSeries {
	return []GPUSeries{
		{
			Series: "NCasT4_v3", GPU: "NVIDIA Tesla T4",
			Sizes:  map[string]int{"Standard_NC4as_T4_v3": 1, "Standard_NC8as_T4_v3": 1, "Standard_NC16as_T4_v3": 1, "Standard_NC64as_T4_v3": 4},
			Source: computeDocs + "ncast4v3-series.md @ 2bc777fd (sizes, accelerators) and includes/ncast4v3-series-specs.md @ 2bc777fd (\"Nvidia Tesla T4 GPU\")",
		},
		{
			Series: "NC_A100_v4", GPU: "NVIDIA A100 PCIe",
			Sizes:  map[string]int{"Standard_NC24ads_A100_v4": 1, "Standard_NC48ads_A100_v4": 2, "Standard_NC96ads_A100_v4": 4},
			Source: computeDocs + "nca100v4-series.md @ 1827cf35 (sizes, accelerators) and includes/nca100v4-series-specs.md @ a18807c4 (\"Nvidia PCIe A100 GPU\")",
		},
	}
}

// LookupNVIDIAGPUSize returns the series of a VM size with NVIDIA GPUs, if the stack knows it.
func LookupNVIDIAGPUSize(vmSize string) (GPUSeries, bool) {
	for _, s := range NVIDIAGPUSeries() {
		if _, ok := s.Sizes[vmSize]; ok {
			return s, true
		}
	}
	return GPUSeries{}, false
}

// NVIDIAGPUSeriesNames lists the known series, for error messages.
func NVIDIAGPUSeriesNames() []string {
	var names []string
	for _, s := range NVIDIAGPUSeries() {
		names = append(names, s.Series)
	}
	return slices.Clip(names)
}
