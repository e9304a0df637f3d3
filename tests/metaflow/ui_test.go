//go:build metaflow

package metaflow

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/images"
)

// uiBackend runs the plan's metaflow-ui-backend container as the UI backend's workload
// identity and asks it, as the UI does, for the run and the start task's stdout (which it reads
// from the datastore with that identity).
func (r *tierRun) uiBackend(t *testing.T, runID string) {
	f := r.facts
	c := f.containers["metaflow-ui-backend"]
	cenv, err := f.env(c)
	if err != nil {
		t.Fatal(err)
	}
	// The in-cluster metadata service URL the plan gives it is a Service name; in the sandbox the
	// service listens on loopback.
	service, err := url.Parse(envMap(c.Env)["METAFLOW_SERVICE_URL"])
	if err != nil || service.Hostname() == "" {
		t.Fatalf("the UI backend's METAFLOW_SERVICE_URL %q is not a URL", envMap(c.Env)["METAFLOW_SERVICE_URL"])
	}
	r.sb.mapHost(service.Hostname(), "127.0.0.1")
	account := f.podAccounts["metaflow-ui-backend"]
	wi, files := r.asTask(account[0], account[1])
	env := append(imageEnv(r.layout, cenv), wi...)
	env = append(env, "REQUESTS_CA_BUNDLE="+r.sb.caBundle, "SSL_CERT_FILE="+r.sb.caBundle)
	p := r.sb.start(spec{name: "ui-backend", argv: append(c.Command, c.Args...), dir: r.layout.workdir, env: env, files: files,
		mounts: []mount{{r.layout.root, "/root"}, {r.layout.opt, "/opt"}}})
	base := fmt.Sprintf("http://127.0.0.1:%d%s", images.UIBackendPort, envMap(c.Env)["PATH_PREFIX"])
	r.sb.waitPort(p, fmt.Sprintf("127.0.0.1:%d", images.UIBackendPort), 90*time.Second)

	var run struct {
		Data struct {
			FlowID    string `json:"flow_id"`
			RunNumber any    `json:"run_number"`
			Status    string `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.get(t, base+"/flows/HelloAzureFlow/runs/"+runID)), &run); err != nil {
		t.Fatal(err)
	}
	if run.Data.FlowID != "HelloAzureFlow" || fmt.Sprint(run.Data.RunNumber) != runID {
		t.Fatalf("the UI backend serves %+v for run %s", run.Data, runID)
	}
	t.Logf("UI backend: run %s is %q", runID, run.Data.Status)

	// The task's log, read from the datastore by the UI backend's own identity. The first read
	// may come before its cache has the log.
	var logs string
	err = waitFor(60*time.Second, func() bool {
		tasks := r.get(t, base+"/flows/HelloAzureFlow/runs/"+runID+"/steps/start/tasks")
		var tl struct {
			Data []struct {
				TaskID any `json:"task_id"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(tasks), &tl) != nil || len(tl.Data) == 0 {
			return false
		}
		logs = r.get(t, fmt.Sprintf("%s/flows/HelloAzureFlow/runs/%s/steps/start/tasks/%v/logs/out", base, runID, tl.Data[0].TaskID))
		return strings.Contains(logs, "metaflow-tier: start ran as task")
	})
	if err != nil {
		t.Fatalf("the UI backend did not serve the start task's stdout: %s\n%s", logs, tail(p.output(), 40))
	}
	grants, _ := r.entra.grants()
	uiClient := f.clientIDOf(account[0], account[1])
	found := false
	for _, g := range grants {
		found = found || g.ClientID == uiClient
	}
	if !found {
		t.Errorf("the UI backend read the log without a token for its own identity %s (grants %v)", uiClient, grants)
	}
}
