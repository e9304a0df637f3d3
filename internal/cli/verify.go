package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"metaflow-azure/internal/portforward"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/verify"
)

func newVerifyCommand(o *Options) *cobra.Command {
	var asJSON bool
	var taskImage string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove the deployed stack works the way a data scientist uses it",
		Long: `Checks the deployed stack end to end, one line per check, and exits non-zero if any fails:
  metadata service  /ping and /version through a port-forward
  datastore (you)   a blob written, read and deleted under the datastore root with your Azure
                    sign-in (DefaultAzureCredential: az login, environment, workload identity)
  task pod          a Job in the task namespace as the task ServiceAccount, with the task image on
                    the task pool, that gets a workload identity token, writes and reads a blob
                    and registers a run with the metadata service
  argo workflow     a one-step Workflow in the task namespace that must succeed
  event webhook     an event POSTed to the Argo Events webhook through a port-forward
Everything it creates is deleted afterwards. --json prints the results as JSON on stdout for CI.
The task image is the profile's METAFLOW_KUBERNETES_CONTAINER_IMAGE unless --task-image is given.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, outs, err := o.deployedOutputs(ctx)
			if err != nil {
				return err
			}
			cfgOut, ok := outs[program.OutputMetaflowConfig]
			if !ok {
				return missingOutput(st, program.OutputMetaflowConfig)
			}
			text, err := metaflowConfigJSON(cfgOut.Value)
			if err != nil {
				return fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputMetaflowConfig, err)
			}
			var profile map[string]string
			if err := json.Unmarshal(text, &profile); err != nil {
				return fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputMetaflowConfig, err)
			}
			rest, err := clusterConfig(st, outs)
			if err != nil {
				return err
			}
			targets, err := portForwardTargets(st, outs)
			if err != nil {
				return err
			}
			kube, err := kubernetes.NewForConfig(rest)
			if err != nil {
				return fmt.Errorf("creating the Kubernetes client: %w", err)
			}
			dyn, err := dynamic.NewForConfig(rest)
			if err != nil {
				return fmt.Errorf("creating the Kubernetes client: %w", err)
			}
			store, err := newBlobDatastore(profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"])
			if err != nil {
				return err
			}

			// The metadata service and the webhook on free local ports, for as long as the checks run.
			fwdCtx, stopForwarding := context.WithCancel(ctx)
			defer stopForwarding()
			// A forward that does not come up fails its checks; the cluster checks still run.
			forwardLog := &forwardComplaints{}
			urls, forwardErr := forwardForChecks(fwdCtx, &portforward.Forwarder{Config: rest, Log: forwardLog}, min(timeout, time.Minute), targets, "metadata", "events-webhook")
			webhook := ""
			if u, ok := urls["events-webhook"]; ok {
				path := "/"
				if p, err := url.Parse(profile["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"]); err == nil && p.Path != "" {
					path = p.Path
				}
				webhook = strings.TrimRight(u, "/") + path
			}
			stack := &verify.Stack{
				Profile: profile, Kube: kube, Dynamic: dyn, Datastore: store,
				MetadataURL: urls["metadata"], WebhookURL: webhook,
				TaskImage: taskImage, Argo: profile["METAFLOW_ARGO_WORKFLOWS_UI_URL"] != "",
				ID: checkID(), Timeout: timeout,
				MetadataForwardError: forwardLog.wrap("metadata", forwardErr),
				WebhookForwardError:  forwardLog.wrap("events-webhook", forwardErr),
			}
			fmt.Fprintf(o.Streams.ErrOut, "verifying stack %q (checks named metaflow-azure-verify-%s)\n", st.Name(), stack.ID)
			results := verify.Run(ctx, stack, func(r verify.Result) {
				status := "PASS"
				if !r.OK {
					status = "FAIL"
				}
				fmt.Fprintf(o.Streams.ErrOut, "%s  %-17s %6.1fs  %s\n", status, r.Check, r.Seconds, r.Detail)
			})
			if asJSON {
				enc := json.NewEncoder(o.Streams.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"stack": st.Name(), "passed": verify.Passed(results), "checks": results}); err != nil {
					return err
				}
			}
			failed := 0
			for _, r := range results {
				if !r.OK {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("stack %q: %d of %d checks failed", st.Name(), failed, len(results))
			}
			fmt.Fprintf(o.Streams.ErrOut, "stack %q works: %d checks passed\n", st.Name(), len(results))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON on stdout")
	cmd.Flags().StringVar(&taskImage, "task-image", "", "the image the task pod and the workflow run (default: the profile's METAFLOW_KUBERNETES_CONTAINER_IMAGE)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long each check waits for the cluster (a pod to start, a workflow to finish)")
	return cmd
}

func checkID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// forwardForChecks forwards the named targets to free local ports and returns their URLs once
// each is forwarded (a target the stack does not have is left out); after wait it returns those
// it has, with an error saying why the rest are missing.
func forwardForChecks(ctx context.Context, f *portforward.Forwarder, wait time.Duration, all []portforward.Target, names ...string) (map[string]string, error) {
	var targets []portforward.Target
	for _, t := range all {
		for _, n := range names {
			if t.Name == n {
				t.LocalPort = 0
				targets = append(targets, t)
			}
		}
	}
	urls := map[string]string{}
	if len(targets) == 0 {
		return urls, nil
	}
	pr, pw := io.Pipe()
	f.Out = pw
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, targets)
		pw.Close()
	}()
	var mu sync.Mutex
	allForwarded := make(chan struct{})
	go func() {
		// Forwarder prints "name  URL" once a target is first forwarded.
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 2 {
				mu.Lock()
				urls[fields[0]] = fields[1]
				n := len(urls)
				mu.Unlock()
				if n == len(targets) {
					close(allForwarded)
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	var err error
	select {
	case <-allForwarded:
	case err = <-done:
		if err == nil {
			err = errors.New("port forwarding ended")
		}
	case <-time.After(wait):
		err = fmt.Errorf("not forwarded within %s", wait)
	case <-ctx.Done():
		err = ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	out := map[string]string{}
	for k, v := range urls {
		out[k] = v
	}
	return out, err
}

// blobDatastore is the caller's access to the datastore: Azure SDK for Go with
// DefaultAzureCredential, as Metaflow's client signs in with Python's.
type blobDatastore struct{ client *azblob.Client }

func newBlobDatastore(endpoint string) (*blobDatastore, error) {
	if endpoint == "" {
		return nil, errors.New("the profile has no METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT")
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("signing in to Azure (DefaultAzureCredential): %w", err)
	}
	client, err := azblob.NewClient(endpoint, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("blob client for %s: %w", endpoint, err)
	}
	return &blobDatastore{client: client}, nil
}

func (b *blobDatastore) Put(ctx context.Context, container, name string, data []byte) error {
	_, err := b.client.UploadBuffer(ctx, container, name, data, nil)
	return err
}

func (b *blobDatastore) Get(ctx context.Context, container, name string) ([]byte, error) {
	resp, err := b.client.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func (b *blobDatastore) Delete(ctx context.Context, container, name string) error {
	_, err := b.client.DeleteBlob(ctx, container, name, nil)
	return err
}

// forwardComplaints keeps the last line the port-forward logged for each target ("name: ..."): why a
// forward did not come up, which says more than a timeout does.
type forwardComplaints struct {
	mu    sync.Mutex
	lines map[string]string
}

func (l *forwardComplaints) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = map[string]string{}
	}
	for _, s := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(s), ": "); ok {
			l.lines[name] = strings.TrimSpace(s)
		}
	}
	return len(p), nil
}

// wrap adds what the port-forward said about the target to err.
func (l *forwardComplaints) wrap(target string, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil || l.lines[target] == "" {
		return err
	}
	return fmt.Errorf("%w; the port-forward said: %s", err, l.lines[target])
}
