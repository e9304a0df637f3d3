package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
	"metaflow-azure/services"
)

// serviceAccountClientIDs maps "namespace/name" of every declared ServiceAccount to the client
// ID its workload identity annotation names ("" without one).
func serviceAccountClientIDs(s *stack) map[string]string {
	out := map[string]string{}
	for _, sa := range s.kinds("ServiceAccount") {
		key := str(sa.Inputs, "metadata.namespace") + "/" + str(sa.Inputs, "metadata.name")
		annotations, _ := prop(sa.Inputs, "metadata.annotations")
		out[key] = ""
		if annotations.IsObject() {
			if v, ok := annotations.ObjectValue()[resource.PropertyKey(azurefacts.WorkloadIdentityClientIDAnnotation)]; ok {
				out[key] = unsecret(v).StringValue()
			}
		}
	}
	return out
}

// TestFederatedCredentialsTrustExactlyTheDeclaredServiceAccounts: every federated identity
// credential trusts the cluster's OIDC issuer, the token exchange audience and a ServiceAccount
// the plan declares with that identity's client ID; every ServiceAccount that names an identity
// has its credential. A credential for an account that does not exist, or an account that names
// an identity that does not trust it, fails.
func TestFederatedCredentialsTrustExactlyTheDeclaredServiceAccounts(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		s := runStack(t, stack)
		issuer := str(s.one(tCluster, "aks").Outputs, "oidcIssuerProfile.issuerURL")
		if !strings.HasPrefix(issuer, "https://") {
			t.Fatalf("%s: cluster OIDC issuer %q", stack, issuer)
		}
		identities := map[string]*fakeazure.Resource{}
		for _, id := range s.all(tIdentity) {
			identities[str(id.Inputs, "resourceName")] = id
		}
		accounts := serviceAccountClientIDs(s)
		trusted := map[string]string{} // namespace/name -> client ID of the identity that trusts it
		creds := s.all(tFederated)
		if len(creds) != 2 {
			t.Errorf("%s: %d federated credentials, want 2 (tasks, UI backend)", stack, len(creds))
		}
		for _, c := range creds {
			if got := str(c.Inputs, "issuer"); got != issuer {
				t.Errorf("%s: %s trusts issuer %q, want the cluster's %q", stack, c.Name, got, issuer)
			}
			if got := strings_(list(c.Inputs, "audiences")); !slices.Equal(got, []string{azurefacts.FederatedTokenAudience}) {
				t.Errorf("%s: %s audiences %v, want [%s]", stack, c.Name, got, azurefacts.FederatedTokenAudience)
			}
			subject := str(c.Inputs, "subject")
			ns, name, ok := strings.Cut(strings.TrimPrefix(subject, "system:serviceaccount:"), ":")
			if !ok || !strings.HasPrefix(subject, "system:serviceaccount:") {
				t.Errorf("%s: %s subject %q is not a ServiceAccount subject", stack, c.Name, subject)
				continue
			}
			identity := identities[str(c.Inputs, "resourceName")]
			if identity == nil {
				t.Errorf("%s: %s hangs on identity %q, which the plan does not declare", stack, c.Name, str(c.Inputs, "resourceName"))
				continue
			}
			clientID := str(identity.Outputs, "clientId")
			annotated, declared := accounts[ns+"/"+name]
			switch {
			case !declared:
				t.Errorf("%s: %s trusts %s/%s, which the plan does not declare", stack, c.Name, ns, name)
			case annotated != clientID:
				t.Errorf("%s: %s/%s names client ID %q, but the credential for it is on %s (%s)", stack, ns, name, annotated, identity.Name, clientID)
			}
			if !s.waitsFor(c, identity) {
				t.Errorf("%s: %s does not wait for its identity", stack, c.Name)
			}
			trusted[ns+"/"+name] = clientID
		}
		for account, clientID := range accounts {
			if clientID != "" && trusted[account] != clientID {
				t.Errorf("%s: ServiceAccount %s names identity %s, but no federated credential of it trusts the account", stack, account, clientID)
			}
		}
		// Exactly the two workloads that touch Azure.
		for _, account := range []string{"metaflow-jobs/" + services.TaskServiceAccountName, "metaflow/" + services.UIBackendAccountName} {
			if trusted[account] == "" {
				t.Errorf("%s: %s is not federated", stack, account)
			}
		}
	}
}

// TestNoAzureSecretByDefault: the default dev and prod stacks hold no Azure client secret
// anywhere: no application password, no Secret with Azure credentials, nothing in the Metaflow
// profile, the Argo values or the outputs that refers to one.
func TestNoAzureSecretByDefault(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		s := runStack(t, stack)
		for _, typ := range []string{tApp, tSP, tPassword} {
			if n := len(s.all(typ)); n != 0 {
				t.Errorf("%s: %d %s declared; workload identity needs none", stack, n, typ)
			}
		}
		for _, sec := range s.kinds("Secret") {
			data, _ := prop(sec.Inputs, "stringData")
			data = unsecret(data)
			if data.IsObject() {
				for key := range data.ObjectValue() {
					if strings.HasPrefix(string(key), "AZURE_") {
						t.Errorf("%s: Secret %s/%s holds %s", stack, str(sec.Inputs, "metadata.namespace"), str(sec.Inputs, "metadata.name"), key)
					}
				}
			}
		}
		// No object refers to a credentials Secret or an Azure secret variable either.
		for _, r := range s.fake.Resources() {
			if !strings.HasPrefix(r.Type, "kubernetes:") {
				continue
			}
			text := fmt.Sprint(r.Inputs)
			for _, bad := range []string{services.CredentialsSecretName, "AZURE_CLIENT_SECRET"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s: %s %s refers to %s", stack, r.Type, r.Name, bad)
				}
			}
		}
		for _, name := range []string{program.OutputClientID, program.OutputClientSecret, program.OutputClientSecretExpiry} {
			if _, ok := s.outputs[name]; ok {
				t.Errorf("%s: output %s exists without a client secret", stack, name)
			}
		}
		var cfg map[string]string
		if err := json.Unmarshal([]byte(s.outputs[program.OutputMetaflowConfig].Value.(string)), &cfg); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"} {
			if v, ok := cfg[k]; ok {
				t.Errorf("%s: profile sets %s=%q", stack, k, v)
			}
		}
		if got, want := cfg["METAFLOW_KUBERNETES_LABELS"], azurefacts.WorkloadIdentityUseLabel+"=true"; got != want {
			t.Errorf("%s: METAFLOW_KUBERNETES_LABELS = %q, want %q so the webhook injects every task", stack, got, want)
		}
		if got := cfg["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"]; got != services.TaskServiceAccountName {
			t.Errorf("%s: tasks run as %q, want the federated %s", stack, got, services.TaskServiceAccountName)
		}
	}
}

// TestOnlyPodsThatReachAzureCarryTheWorkloadIdentityLabel: the UI backend runs as its own
// federated ServiceAccount with the label; the metadata service, the migrations and the UI have
// neither; Argo puts the label on every workflow pod and runs them as the task account.
func TestOnlyPodsThatReachAzureCarryTheWorkloadIdentityLabel(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	label := func(r *fakeazure.Resource) string {
		labels, _ := prop(r.Inputs, "spec.template.metadata.labels")
		if v, ok := labels.ObjectValue()[resource.PropertyKey(azurefacts.WorkloadIdentityUseLabel)]; ok {
			return v.StringValue()
		}
		return ""
	}
	backend := s.k8s("Deployment", "metaflow", services.UIBackendName)
	if got := label(backend); got != "true" {
		t.Errorf("UI backend pods: workload identity label %q, want \"true\"", got)
	}
	if got := str(backend.Inputs, "spec.template.spec.serviceAccountName"); got != services.UIBackendAccountName {
		t.Errorf("UI backend runs as %q, want %s", got, services.UIBackendAccountName)
	}
	if selector, _ := prop(backend.Inputs, "spec.selector.matchLabels"); selector.ObjectValue().HasValue(resource.PropertyKey(azurefacts.WorkloadIdentityUseLabel)) {
		t.Error("the label must not be in the Deployment's selector (selectors are immutable)")
	}
	for _, name := range []string{services.MetadataServiceName, services.UIStaticName} {
		d := s.k8s("Deployment", "metaflow", name)
		if got := label(d); got != "" {
			t.Errorf("%s pods carry the workload identity label (%q) but never reach Azure", name, got)
		}
		if got := str(d.Inputs, "spec.template.spec.serviceAccountName"); got != services.ServicesAccountName {
			t.Errorf("%s runs as %q, want %s (no Azure identity)", name, got, services.ServicesAccountName)
		}
	}
	if accounts := serviceAccountClientIDs(s); accounts["metaflow/"+services.ServicesAccountName] != "" {
		t.Errorf("%s names an Azure identity", services.ServicesAccountName)
	}
	values := valuesOf(t, s.one(tRelease, "argo"))
	defaults, _ := values["controller"].(map[string]any)["workflowDefaults"].(map[string]any)["spec"].(map[string]any)
	labels, _ := defaults["podMetadata"].(map[string]any)["labels"].(map[string]any)
	if labels[azurefacts.WorkloadIdentityUseLabel] != "true" || defaults["serviceAccountName"] != services.TaskServiceAccountName {
		t.Errorf("Argo workflow defaults %v: want the task ServiceAccount and the workload identity label", defaults)
	}
	if _, ok := values["executor"]; ok {
		t.Errorf("Argo executor values %v: no credentials to pass with workload identity", values["executor"])
	}
}

// TestReadPreviousReadsTheSecretExpiry: the client secret's end date reaches the next run
// through the stack reference to itself, which is what the 30-day warning reads.
func TestReadPreviousReadsTheSecretExpiry(t *testing.T) {
	t.Parallel()
	cfg, err := stackconfig.Load("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	const end = "2027-01-01T00:00:00Z"
	fake := fakeazure.New(cfg.Project, cfg.Stack)
	fake.SetPreviousOutputs(map[string]any{program.OutputClientSecretExpiry: end})
	if err := cfg.Override("identity.clientSecret", "true"); err != nil {
		t.Fatal(err)
	}
	outputs, err := fake.RunDeclare(cfg.Values, func(ctx *pulumi.Context) (pulumi.Map, error) {
		p, err := program.ReadPrevious(ctx)
		if err != nil {
			return nil, err
		}
		// The whole stack too, as a deployment would run it with that previous deployment.
		out, err := program.Declare(ctx, cfg.Values)
		if err != nil {
			return nil, err
		}
		out["expiry"] = pulumi.String(p.SecretExpiry)
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := outputs["expiry"].Value; got != end {
		t.Errorf("previous secret expiry %v, want %s", got, end)
	}
	day, _ := time.Parse(time.RFC3339, end)
	if w := program.SecretExpiryWarning(end, day.Add(-10*24*time.Hour)); !strings.Contains(w, "2027-01-01") {
		t.Errorf("10 days before the end: warning %q", w)
	}
}
