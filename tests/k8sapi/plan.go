//go:build k8sapi

package k8sapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
)

// helmReleaseType is the Pulumi type of a Helm release: its chart is fetched at deploy time,
// which the offline plan cannot do; this tier renders it with Helm (charts.go).
const helmReleaseType = "kubernetes:helm.sh/v3:Release"

// agentPoolType is the Pulumi type of an AKS node pool other than the system pool.
const agentPoolType = "azure-native:containerservice/v20241001:AgentPool"

// agentPool is what an AKS node pool declares about its nodes: the tier makes simulated nodes
// from it, so the scheduling proof uses the pools the stack would create, not a copy.
type agentPool struct {
	Name             string            `json:"agentPoolName"`
	Mode             string            `json:"mode"`
	VMSize           string            `json:"vmSize"`
	ScaleSetPriority string            `json:"scaleSetPriority"`
	NodeLabels       map[string]string `json:"nodeLabels"`
	NodeTaints       []string          `json:"nodeTaints"`
}

// stackPlan is what the offline plan says about the stack's Kubernetes side.
type stackPlan struct {
	manifests    []manifest
	config       *metaflowConfig // the metaflowConfig output: the user's config.json
	helmReleases []helmRelease
	// pools are the AKS task pools (the AgentPool resources).
	pools   []agentPool
	outputs map[string]any
}

type helmRelease struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Chart     string `json:"chart"`
	Version   string `json:"version"`
	// Values are exactly what the program passes to Helm.
	Values         map[string]any `json:"values"`
	RepositoryOpts struct {
		Repo string `json:"repo"`
	} `json:"repositoryOpts"`
}

func (r helmRelease) String() string {
	return fmt.Sprintf("Helm release %s (chart %s %s, namespace %s)", r.Name, r.Chart, r.Version, r.Namespace)
}

// planJSON is the part of `plan --json` the tier reads.
type planJSON struct {
	Resources []struct {
		Type   string          `json:"type"`
		Inputs json.RawMessage `json:"inputs"`
	} `json:"resources"`
	Outputs map[string]json.RawMessage `json:"outputs"`
}

// renderPlan runs the offline plan of a stack, writing every Kubernetes object to dir.
// Secret values are the plan's fake stand-ins; --show-secrets makes Secrets real objects
// instead of the "[secret]" placeholder, which no API server accepts as stringData.
func renderPlan(ctx context.Context, root, stack, dir string) (*stackPlan, error) {
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/metaflow-azure",
		"plan", "--stack", stack, "--show-secrets", "--json", "--manifests", dir)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plan --stack %s --manifests: %w\n%s", stack, err, stderr.String())
	}
	var pj planJSON
	if err := json.Unmarshal(stdout.Bytes(), &pj); err != nil {
		return nil, fmt.Errorf("parse plan --json: %w", err)
	}
	ms, err := loadManifests(dir)
	if err != nil {
		return nil, err
	}
	p := &stackPlan{manifests: ms, outputs: map[string]any{}}
	for name, raw := range pj.Outputs {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("parse output %s: %w", name, err)
		}
		p.outputs[name] = v
	}
	for _, r := range pj.Resources {
		if r.Type == agentPoolType {
			var ap agentPool
			if err := json.Unmarshal(r.Inputs, &ap); err != nil {
				return nil, fmt.Errorf("parse agent pool inputs: %w", err)
			}
			p.pools = append(p.pools, ap)
			continue
		}
		if r.Type != helmReleaseType {
			continue
		}
		var hr helmRelease
		if err := json.Unmarshal(r.Inputs, &hr); err != nil {
			return nil, fmt.Errorf("parse helm release inputs: %w", err)
		}
		if hr.Values == nil {
			hr.Values = map[string]any{}
		}
		p.helmReleases = append(p.helmReleases, hr)
	}
	if raw, ok := pj.Outputs["metaflowConfig"]; ok {
		cfg, err := parseConfigOutput(raw)
		if err != nil {
			return nil, err
		}
		p.config = cfg
	}
	return p, nil
}

// parseConfigOutput reads the metaflowConfig output: the config.json text, or its object.
func parseConfigOutput(raw json.RawMessage) (*metaflowConfig, error) {
	data := []byte(raw)
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		data = []byte(text)
	}
	values, err := parseMetaflowJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse metaflowConfig output: %w", err)
	}
	return &metaflowConfig{source: "metaflowConfig output", values: values, namespace: metaflowDefaultNS}, nil
}
