// Nested tools module: pins the Azure Workload Identity mutating webhook the k8sapi test tier
// runs against the real kube-apiserver, without putting it into the main module. Built by
// hack/k8s-tools.sh.
module metaflow-azure/tools/k8s/workload-identity

go 1.25.0

require github.com/Azure/azure-workload-identity v1.5.1 // indirect

replace monis.app/mlog => ./mlog
