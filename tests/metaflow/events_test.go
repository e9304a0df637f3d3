//go:build metaflow

package metaflow

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// publishEvent publishes an event with Metaflow's ArgoEvent as a data scientist or a task does,
// and checks it reaches the webhook URL of the profile (the Argo Events webhook EventSource's
// port-forward) with the @trigger flow's event name.
func (r *tierRun) publishEvent(t *testing.T) {
	hook, err := url.Parse(r.facts.profile["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"])
	if err != nil || hook.Port() == "" {
		t.Fatalf("the profile's METAFLOW_ARGO_EVENTS_WEBHOOK_URL %q has no host and port", r.facts.profile["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"])
	}
	if hook.Hostname() != "localhost" {
		t.Fatalf("the webhook URL %s is not the port-forward on localhost", hook)
	}
	var mu sync.Mutex
	var got []map[string]any
	ln, err := r.sb.listen("127.0.0.1:" + hook.Port())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Method != http.MethodPost || req.URL.Path != hook.Path {
			// The webhook EventSource serves only its endpoint's path.
			http.Error(w, "no such endpoint", http.StatusNotFound)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	out, err := r.metaflow(t, "-c", `from metaflow.integrations import ArgoEvent
ArgoEvent(name="metaflow-tier-data-ready").publish(payload={"table": "sales"}, ignore_errors=False)`)
	if err != nil {
		t.Fatalf("ArgoEvent.publish: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the webhook received %d events; want 1\n%s", len(got), out)
	}
	payload, _ := got[0]["payload"].(map[string]any)
	if got[0]["name"] != "metaflow-tier-data-ready" || payload["table"] != "sales" {
		t.Fatalf("the webhook received %v", got[0])
	}
	t.Logf("events: ArgoEvent.publish reached %s: %s", hook, strings.TrimSpace(fmt.Sprint(got[0]["name"])))
}
