//go:build k8sapi

package k8sapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"metaflow-azure/tests/internal/controlplane"
)

// webhookTenantID is the tenant the webhook injects when a ServiceAccount names none: on AKS,
// the cluster's own tenant.
const webhookTenantID = "8f0d0a6e-3c1b-4d8e-9a57-2b6c4e1f7d90"

// webhookPort is where the webhook serves admission requests: controller-runtime's default
// port (sigs.k8s.io/controller-runtime v0.19.7, the webhook's dependency, pkg/webhook/server.go:39),
// which the upstream binary does not make configurable.
const webhookPort = 9443

// startWorkloadIdentityWebhook runs the real Azure Workload Identity webhook against the
// control plane, the way AKS runs it for a cluster with workload identity: serving TLS with a
// certificate the API server trusts (a loopback certificate from the test CA) and registered with
// upstream's own MutatingWebhookConfiguration, only pointed at 127.0.0.1 instead of its
// in-cluster Service. It returns once the API server sends labelled pods through it.
func startWorkloadIdentityWebhook(ctx context.Context, c *controlplane.Cluster, t *controlplane.Tools) error {
	certDir := filepath.Join(c.Dir, "azure-wi-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("create webhook cert dir: %w", err)
	}
	crt, key, err := c.SignServing("127.0.0.1")
	if err != nil {
		return fmt.Errorf("webhook certificate: %w", err)
	}
	for name, data := range map[string][]byte{"tls.crt": crt, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
			return fmt.Errorf("webhook certificate: %w", err)
		}
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	p, err := c.StartProcess("azure-wi-webhook", t.WorkloadIdentityWebhook, []string{
		"--disable-cert-rotation",
		"--webhook-cert-dir=" + certDir,
		fmt.Sprintf("--health-addr=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[1]),
		"--log-level=info",
	},
		"KUBECONFIG="+c.Kubeconfig,
		"AZURE_TENANT_ID="+webhookTenantID,
		"AZURE_ENVIRONMENT=AzurePublicCloud",
		"POD_NAMESPACE=azure-workload-identity-system",
	)
	if err != nil {
		return err
	}
	if err := controlplane.WaitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[0]), nil); err != nil {
		return fmt.Errorf("webhook readiness: %w", err)
	}
	config, err := upstreamWebhookConfiguration(t.WorkloadIdentityManifest)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(c.CACertFile)
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	for i := range config.Webhooks {
		svc := config.Webhooks[i].ClientConfig.Service
		if svc == nil || svc.Path == nil {
			return fmt.Errorf("upstream webhook %s has no service path to re-point", config.Webhooks[i].Name)
		}
		url := fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, *svc.Path)
		config.Webhooks[i].ClientConfig = admissionv1.WebhookClientConfig{URL: &url, CABundle: ca}
	}
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, config, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register the webhook: %w", err)
	}
	// The API server picks the configuration up asynchronously; a probe pod (dry run) with
	// the labels upstream's objectSelector matches (not the stack's constant, which is what the
	// tests check) comes back mutated once it does.
	var selected map[string]string
	if sel := config.Webhooks[0].ObjectSelector; sel != nil {
		selected = sel.MatchLabels
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "wi-probe-", Namespace: "default", Labels: selected},
		Spec:       corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "probe", Image: "probe"}}},
	}
	return controlplane.Poll(ctx, 200*time.Millisecond, func() (bool, error) {
		if err := p.Exited(); err != nil {
			return false, err
		}
		got, err := c.Client.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, nil // the default ServiceAccount may not exist yet
		}
		return envValue(got.Spec.Containers[0], "AZURE_TENANT_ID") == webhookTenantID, nil
	})
}

// upstreamWebhookConfiguration reads the MutatingWebhookConfiguration of upstream's deploy
// manifest: its objectSelector, rules, failure and reinvocation policies are what AKS runs.
func upstreamWebhookConfiguration(path string) (*admissionv1.MutatingWebhookConfiguration, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the webhook's deploy manifest: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if u.GetKind() != "MutatingWebhookConfiguration" {
			continue
		}
		var config admissionv1.MutatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &config); err != nil {
			return nil, fmt.Errorf("convert the webhook configuration: %w", err)
		}
		return &config, nil
	}
	return nil, fmt.Errorf("%s has no MutatingWebhookConfiguration", path)
}

// envValue is a container's plain env value ("" when unset).
func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
