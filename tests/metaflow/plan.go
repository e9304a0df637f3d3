//go:build metaflow

package metaflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// stackFacts is what the offline plan of a stack says about everything the tier stands in for.
// Nothing here is typed by hand: every value is the plan's.
type stackFacts struct {
	name string
	// profile is the metaflowConfig output: what `metaflow-azure config` writes to config.json.
	profile map[string]string
	// profileJSON is that output's text.
	profileJSON     string
	tenantID        string
	oidcIssuer      string
	storageAccount  string
	postgresHost    string
	dbPassword      string // the metaflow-db Secret's password (the plan's stand-in value)
	identities      []identity
	credentials     []federatedCredential
	serviceAccounts map[string]corev1.ServiceAccount // namespace/name
	// containers are the first containers of the Deployments and Jobs, by object name, and
	// podAccounts the namespace/name of the ServiceAccount each one's pods run as.
	containers  map[string]corev1.Container
	podAccounts map[string][2]string
	// argoValues are the values the stack passes to the argo-workflows chart.
	argoValues map[string]any
}

type identity struct {
	Name        string
	ClientID    string
	PrincipalID string
}

type federatedCredential struct {
	Identity  string // the user-assigned identity's name
	Issuer    string
	Subject   string
	Audiences []string
}

type planResource struct {
	Type    string          `json:"type"`
	Inputs  json.RawMessage `json:"inputs"`
	Outputs json.RawMessage `json:"outputs"`
}

func loadStack(ctx context.Context, root, stack string) (*stackFacts, error) {
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/metaflow-azure", "plan", "--stack", stack, "--show-secrets", "--json")
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plan --stack %s: %w\n%s", stack, err, stderr.String())
	}
	var pj struct {
		Resources []planResource `json:"resources"`
		Outputs   map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &pj); err != nil {
		return nil, fmt.Errorf("parse plan --json: %w", err)
	}
	f := &stackFacts{name: stack, serviceAccounts: map[string]corev1.ServiceAccount{}, containers: map[string]corev1.Container{}, podAccounts: map[string][2]string{}}
	text, ok := pj.Outputs["metaflowConfig"].(string)
	if !ok {
		return nil, fmt.Errorf("plan --stack %s: output metaflowConfig is %T, want JSON text", stack, pj.Outputs["metaflowConfig"])
	}
	f.profileJSON = text
	if err := json.Unmarshal([]byte(text), &f.profile); err != nil {
		return nil, fmt.Errorf("output metaflowConfig: %w", err)
	}
	for key, dst := range map[string]*string{
		"tenantId": &f.tenantID, "oidcIssuerUrl": &f.oidcIssuer, "storageAccountName": &f.storageAccount,
		"postgresHost": &f.postgresHost,
	} {
		s, ok := pj.Outputs[key].(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("plan --stack %s: output %s is missing", stack, key)
		}
		*dst = s
	}
	for _, r := range pj.Resources {
		switch {
		case r.Type == "azure-native:managedidentity:UserAssignedIdentity":
			var out struct {
				Name        string `json:"name"`
				ClientID    string `json:"clientId"`
				PrincipalID string `json:"principalId"`
			}
			if err := json.Unmarshal(r.Outputs, &out); err != nil {
				return nil, fmt.Errorf("identity outputs: %w", err)
			}
			f.identities = append(f.identities, identity(out))
		case r.Type == "azure-native:managedidentity:FederatedIdentityCredential":
			var in struct {
				Identity  string   `json:"resourceName"`
				Issuer    string   `json:"issuer"`
				Subject   string   `json:"subject"`
				Audiences []string `json:"audiences"`
			}
			if err := json.Unmarshal(r.Inputs, &in); err != nil {
				return nil, fmt.Errorf("federated credential inputs: %w", err)
			}
			f.credentials = append(f.credentials, federatedCredential(in))
		case r.Type == "kubernetes:core/v1:ServiceAccount":
			var sa corev1.ServiceAccount
			if err := json.Unmarshal(r.Inputs, &sa); err != nil {
				return nil, fmt.Errorf("ServiceAccount: %w", err)
			}
			f.serviceAccounts[sa.Namespace+"/"+sa.Name] = sa
		case r.Type == "kubernetes:core/v1:Secret":
			var s corev1.Secret
			if err := json.Unmarshal(r.Inputs, &s); err != nil {
				return nil, fmt.Errorf("Secret: %w", err)
			}
			if s.Name == "metaflow-db" {
				f.dbPassword = s.StringData["password"]
			}
		case r.Type == "kubernetes:apps/v1:Deployment" || r.Type == "kubernetes:batch/v1:Job":
			var obj struct {
				Metadata struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(r.Inputs, &obj); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Type, err)
			}
			name := obj.Metadata.Name
			if strings.HasPrefix(name, "metaflow-db-migrations-") {
				name = "migrations"
			}
			if cs := obj.Spec.Template.Spec.Containers; len(cs) > 0 {
				f.containers[name] = cs[0]
				f.podAccounts[name] = [2]string{obj.Metadata.Namespace, obj.Spec.Template.Spec.ServiceAccountName}
			}
		case r.Type == "kubernetes:helm.sh/v3:Release":
			var rel struct {
				Chart  string         `json:"chart"`
				Values map[string]any `json:"values"`
			}
			if err := json.Unmarshal(r.Inputs, &rel); err != nil {
				return nil, fmt.Errorf("Helm release: %w", err)
			}
			if rel.Chart == "argo-workflows" {
				f.argoValues = rel.Values
			}
		}
	}
	if f.dbPassword == "" {
		return nil, fmt.Errorf("plan --stack %s: no metaflow-db Secret with a password", stack)
	}
	for _, want := range []string{"metadata-service", "migrations", "metaflow-ui-backend"} {
		if _, ok := f.containers[want]; !ok {
			return nil, fmt.Errorf("plan --stack %s: no %s container", stack, want)
		}
	}
	return f, nil
}

// identityByClientID is the user-assigned identity with that client ID.
func (f *stackFacts) identityByClientID(clientID string) (identity, bool) {
	for _, id := range f.identities {
		if id.ClientID == clientID {
			return id, true
		}
	}
	return identity{}, false
}

// clientIDOf is the client ID a ServiceAccount's workload identity annotation names.
func (f *stackFacts) clientIDOf(namespace, name string) string {
	sa := f.serviceAccounts[namespace+"/"+name]
	return sa.Annotations["azure.workload.identity/client-id"]
}

// env is a container's environment as the kubelet gives it: Secret references resolved with the
// plan's values (the metaflow-db password is the only one the services read).
func (f *stackFacts) env(c corev1.Container) ([]string, error) {
	var env []string
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "metaflow-db" && e.ValueFrom.SecretKeyRef.Key == "password":
			env = append(env, e.Name+"="+f.dbPassword)
		default:
			return nil, fmt.Errorf("container %s: env %s comes from %+v, which the tier does not resolve", c.Name, e.Name, e.ValueFrom)
		}
	}
	return env, nil
}
