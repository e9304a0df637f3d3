//go:build rehearsal

package rehearsal

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// verify runs `metaflow-azure verify` against the deployed stack as far as kwok allows: kwok
// plays the kubelet, so no container runs, no port-forward connects and no Argo controller acts.
// What it can show: verify reports every check with its reason and exits non-zero; the task
// Job's pod passes admission (Pod Security of the task namespace) and the real scheduler places
// it on the task pool's node; the Workflow is accepted by the chart's CRDs; and verify deletes
// its Job and Workflow. The checks' Metaflow side runs for real in the Metaflow tier.
func (r *rehearsal) verify(ctx context.Context, t *testing.T) {
	p := r.p
	res := p.metaflowAzure("verify", "--json", "--timeout", "20s", "--task-image", "example.azurecr.io/metaflow-task:2.19.38")
	if res.code == 0 {
		t.Fatalf("verify passed on a cluster where nothing runs: %s", res)
	}
	var report struct {
		Passed bool `json:"passed"`
		Checks []struct {
			Check  string `json:"check"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(res.out), &report); err != nil {
		t.Fatalf("verify --json printed no report: %v\n%s", err, res)
	}
	detail := map[string]string{}
	for _, c := range report.Checks {
		detail[c.Check] = c.Detail
		t.Logf("verify: %-17s ok=%v %s", c.Check, c.OK, c.Detail)
	}
	if len(report.Checks) != 5 || report.Passed {
		t.Fatalf("verify reported %+v", report)
	}
	if p.entra() {
		// The user kubeconfig of an Azure RBAC cluster signs in through kubelogin, which is not on
		// this machine: every check that needs the cluster says so.
		for _, check := range []string{"metadata service", "task pod", "argo workflow", "event webhook"} {
			if d := detail[check]; !strings.Contains(d, "kubelogin") {
				t.Errorf("%s: %q; want the missing kubelogin named", check, d)
			}
		}
	} else {
		// The pod was admitted and scheduled onto the task pool's node; kwok completes it
		// without running anything, so there is no result line and the check must fail.
		if d := detail["task pod"]; !strings.Contains(d, "node "+nodeName("tasks")) || !strings.Contains(d, "not the check's result") {
			t.Errorf("task pod: %q; want the Job's pod on %s, failing for want of the check's result", d, nodeName("tasks"))
		}
		if d := detail["argo workflow"]; !strings.Contains(d, "has no phase") {
			t.Errorf("argo workflow: %q; want the Workflow accepted and waiting for a controller", d)
		}
		for _, check := range []string{"metadata service", "event webhook"} {
			if d := detail[check]; !strings.Contains(d, "not forwarded") {
				t.Errorf("%s: %q; want the port-forward's failure", check, d)
			}
		}
	}
	// Nothing of verify's is left in the task namespace.
	ns := "metaflow-jobs"
	jobs, err := p.cluster.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if strings.HasPrefix(j.Name, "metaflow-azure-verify-") {
			t.Errorf("verify left Job %s/%s", ns, j.Name)
		}
	}
	raw, err := p.cluster.Client.Discovery().RESTClient().Get().AbsPath("/apis/argoproj.io/v1alpha1/namespaces", ns, "workflows").DoRaw(ctx)
	if err != nil {
		t.Fatalf("listing workflows: %v", err)
	}
	var wfs struct {
		Items []struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	_ = json.Unmarshal(raw, &wfs)
	for _, w := range wfs.Items {
		if strings.HasPrefix(w.Metadata.Name, "metaflow-azure-verify-") && w.Metadata.DeletionTimestamp == nil {
			t.Errorf("verify left Workflow %s/%s", ns, w.Metadata.Name)
		}
	}
}
