// Package services declares the Kubernetes side of Metaflow on AKS: the provider built from the
// cluster's kubeconfig, the metadata service with its migrations, the UI, the task namespace
// and identity, Argo Workflows and Argo Events. It receives plain values and the provider; it
// never imports the Azure SDK.
package services

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// AzureCredentialKeys are the Secret keys DefaultAzureCredential reads from the environment.
var AzureCredentialKeys = []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"}

// AzureCredentials is a service principal with a client secret (identity.clientSecret: true).
type AzureCredentials struct {
	ClientID     pulumi.StringInput
	TenantID     pulumi.StringInput
	ClientSecret pulumi.StringInput
	// KeyID identifies the secret; it changes when the secret is rotated.
	KeyID pulumi.StringInput
}

// AzureAccess is how a workload signs in to Azure: by default as a user-assigned identity its
// ServiceAccount federates to (Microsoft Entra Workload ID), so no credential is stored in the
// cluster; with identity.clientSecret, as a service principal whose secret is in a Secret.
type AzureAccess struct {
	// WorkloadClientID is the client ID of the identity the ServiceAccount federates to.
	WorkloadClientID pulumi.StringInput
	// Credentials are the service principal's, in client-secret mode only.
	Credentials *AzureCredentials
}

// Federated tells whether the workload uses workload identity.
func (a AzureAccess) Federated() bool { return a.Credentials == nil }

func (a AzureAccess) validate(component string) error {
	if (a.WorkloadClientID == nil) == (a.Credentials == nil) {
		return fmt.Errorf("internal-error: %s: exactly one of WorkloadClientID and Credentials is required", component)
	}
	return nil
}

// serviceAccountAnnotations name the identity a ServiceAccount federates to; none in
// client-secret mode.
func (a AzureAccess) serviceAccountAnnotations() pulumi.StringMap {
	if !a.Federated() {
		return nil
	}
	return pulumi.StringMap{azurefacts.WorkloadIdentityClientIDAnnotation: a.WorkloadClientID}
}

// credentialsKeyAnnotation on a pod template names the client secret the pods started with, so a
// rotation rolls them: env from a Secret is read only when a container starts.
const credentialsKeyAnnotation = "metaflow-azure/client-secret-key-id"

// podAnnotations roll a workload's pods when its client secret is rotated; none with workload
// identity.
func (a AzureAccess) podAnnotations() pulumi.StringMap {
	if a.Federated() {
		return nil
	}
	return pulumi.StringMap{credentialsKeyAnnotation: a.Credentials.KeyID}
}

// PodLabels are the labels a pod that reaches Azure carries: the webhook injects the identity
// into pods with the workload identity label only.
func (a AzureAccess) PodLabels() map[string]string {
	if !a.Federated() {
		return nil
	}
	return map[string]string{azurefacts.WorkloadIdentityUseLabel: "true"}
}

// NewProvider returns the Kubernetes provider every object of the stack uses. The kubeconfig
// stays in memory as a secret; nothing is written to disk.
//
// clusterID names the cluster for the provider's replacement decision (its clusterIdentifier):
// the provider, and with it every Kubernetes object, is replaced only when it changes. Without
// it the provider is replaced whenever its kubeconfig's cluster entry changes, a certificate
// rotation included (pulumi-kubernetes v4.25.0 provider.go DiffConfig), while a new token is an
// update either way. The stack passes the API server's URL: the AKS cluster's FQDN, which a
// re-created cluster does not share.
func NewProvider(ctx *pulumi.Context, name string, kubeconfig, clusterID pulumi.StringInput, opts ...pulumi.ResourceOption) (*kubernetes.Provider, error) {
	return kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig:        pulumi.ToSecret(kubeconfig).(pulumi.StringOutput),
		ClusterIdentifier: clusterID,
		// Server-side apply lets the Helm charts and our objects share fields safely.
		EnableServerSideApply: pulumi.Bool(true),
	}, opts...)
}

// NewNamespace declares a namespace whose pods the API server holds to a Pod Security level
// (podsecurity.go). Objects in it take their namespace from its output, so they depend on it and
// are created after it.
func NewNamespace(ctx *pulumi.Context, name, namespace, podSecurity string, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	if podSecurity != PodSecurityRestricted && podSecurity != PodSecurityBaseline {
		return nil, fmt.Errorf("internal-error: namespace %s: Pod Security level %q", namespace, podSecurity)
	}
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(namespace),
			Labels: pulumi.ToStringMap(withLabels(labels(namespace, ""), map[string]string{PodSecurityEnforceLabel: podSecurity})),
		},
	}, opts...)
}

// namespaceName is the namespace's name as an output, carrying the dependency on it.
func namespaceName(ns *corev1.Namespace) pulumi.StringOutput {
	return ns.Metadata.Name().Elem()
}

// newAzureCredentialsSecret puts the service principal's credentials into a namespace.
func newAzureCredentialsSecret(ctx *pulumi.Context, name string, namespace pulumi.StringInput, secretName string, creds AzureCredentials, opts ...pulumi.ResourceOption) (*corev1.Secret, error) {
	return corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(secretName),
			Namespace: namespace,
			Labels:    pulumi.ToStringMap(labels(secretName, "credentials")),
		},
		Type: pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(pulumi.StringMap{
			"AZURE_CLIENT_ID":     creds.ClientID,
			"AZURE_TENANT_ID":     creds.TenantID,
			"AZURE_CLIENT_SECRET": creds.ClientSecret,
		}).(pulumi.StringMapOutput),
	}, append(opts, pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))...)
}

// labels are the recommended Kubernetes labels of every object the stack declares.
func labels(name, component string) map[string]string {
	l := map[string]string{
		"app.kubernetes.io/name":       name,
		"app.kubernetes.io/part-of":    "metaflow",
		"app.kubernetes.io/managed-by": "pulumi",
	}
	if component != "" {
		l["app.kubernetes.io/component"] = component
	}
	return l
}

// selectorLabels are the immutable subset of labels that Deployments and Services select by.
func selectorLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "metaflow"}
}

func requireNonEmpty(component string, fields map[string]string) error {
	for k, v := range fields {
		if v == "" {
			return fmt.Errorf("internal-error: %s: %s is required", component, k)
		}
	}
	return nil
}

func errNilArgs(component string) error {
	return fmt.Errorf("internal-error: %s: args must not be nil", component)
}
