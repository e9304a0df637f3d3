package azurefacts

// Microsoft Entra Workload ID on AKS: the names the workload identity mutating webhook reads and
// the audience federated credentials trust.
//
// Source: Azure/azure-workload-identity v1.5.1, pkg/webhook/consts.go:6 (the pod label),
// :8 (the ServiceAccount annotation), :77 (the default token audience) and
// pkg/webhook/webhook.go:369-381 (client ID from the ServiceAccount annotation, tenant from the
// annotation or the webhook's own AZURE_TENANT_ID); the same names in Microsoft's
// azure-aks-docs workload-identity-overview.md ("Service account labels and annotations",
// "Pod labels"; azure-aks-docs @ fb060ab workload-identity-overview.md:273,280,284 and
// workload-identity-deploy-cluster.md:382-388 for the issuer, subject and audience of a
// federated credential). AKS runs this webhook version (Azure/AKS CHANGELOG @ 8d1c890 line 947,
// release 2025-07-20: "Workload identity image is updated to v1.5.1"). The k8sapi test tier runs that webhook against a real kube-apiserver, so a
// wrong name here fails there.
const (
	// WorkloadIdentityUseLabel on a pod makes the webhook inject it; the webhook's
	// objectSelector matches it with the value "true".
	WorkloadIdentityUseLabel = "azure.workload.identity/use"
	// WorkloadIdentityClientIDAnnotation on a ServiceAccount names the identity's client ID.
	WorkloadIdentityClientIDAnnotation = "azure.workload.identity/client-id"
	// FederatedTokenAudience is the audience of the projected ServiceAccount token and so the
	// one audience a federated identity credential must list.
	FederatedTokenAudience = "api://AzureADTokenExchange"
)

// FederatedSubject is the subject a federated identity credential trusts for a Kubernetes
// ServiceAccount: the `sub` claim of its projected token.
func FederatedSubject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// MaxFederatedCredentialsPerIdentity is how many federated identity credentials one
// user-assigned managed identity can hold. Azure also refuses concurrent writes of them under one
// identity (409 Conflict), so the stack creates them one after another.
//
// Sources: MicrosoftDocs/azure-aks-docs @ fb060ab articles/aks/workload-identity-overview.md:45
// (ms.date 2026-06-26: "a maximum of 20 federated identity credentials per managed identity");
// MicrosoftDocs/entra-docs @ 03ffb81 docs/workload-id/workload-identity-federation-considerations.md,
// "Concurrent updates aren't supported (user-assigned managed identities)".
const MaxFederatedCredentialsPerIdentity = 20
