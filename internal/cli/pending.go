package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/armcontract"
	"metaflow-azure/internal/stackops"
)

// recoverInterrupted runs before an up: if the last operation was interrupted (Ctrl-C, a killed
// process, a lost CI runner) while it created resources, they may exist in Azure or the cluster
// without being in the state, and the up would fail on them ("cannot create already existing
// resource"). Each one's ID follows from its inputs (an ARM ID from its API contract's path, a
// Kubernetes object's namespace and name), so it is read back into the state first; one that was
// never created reads as gone and is created by the up.
func recoverInterrupted(ctx context.Context, st *stackops.Stack, out io.Writer) error {
	state, err := st.ReadState(ctx)
	if err != nil || len(state.Pending) == 0 {
		return err
	}
	contracts, err := armcontract.Load()
	if err != nil {
		return fmt.Errorf("internal-error: loading the ARM contracts: %w", err)
	}
	subscription := subscriptionOf(state.IDs)
	ids := map[string]string{}
	var lines []string
	for _, p := range state.Pending {
		id, ok := cloudID(contracts, p, subscription)
		if ok {
			ids[p.URN] = id
			lines = append(lines, fmt.Sprintf("  %s (%s)", p.URN, id))
		} else {
			lines = append(lines, fmt.Sprintf("  %s (no ID to look for: its create starts over)", p.URN))
		}
	}
	fmt.Fprintf(out, "the last operation on stack %q stopped while it created %d resources; reading them back before the update:\n%s\n",
		st.Name(), len(state.Pending), strings.Join(lines, "\n"))
	return st.RecoverPendingCreates(ctx, ids)
}

// subscriptionOf is the subscription of the stack's Azure resources, from their IDs.
func subscriptionOf(ids map[string]string) string {
	for _, id := range ids {
		if rest, ok := strings.CutPrefix(id, "/subscriptions/"); ok {
			if sub, _, ok := strings.Cut(rest, "/"); ok {
				return sub
			}
		}
	}
	return ""
}

// cloudID is the ID a resource gets from its inputs: azure-native's ARM ID, the Kubernetes
// provider's namespace/name. Resources whose ID the cloud assigns (Entra applications, random
// values, providers) have none.
func cloudID(contracts *armcontract.Contracts, p stackops.Pending, subscription string) (string, bool) {
	switch {
	case strings.HasPrefix(p.Type, "azure-native:"):
		if subscription == "" {
			return "", false
		}
		id, err := contracts.ResourceID(p.Type, resource.NewPropertyMapFromMap(p.Inputs), subscription)
		return id, err == nil
	case p.Type == "kubernetes:helm.sh/v3:Release":
		return namespaced(str(p.Inputs["namespace"]), str(p.Inputs["name"]))
	case strings.HasPrefix(p.Type, "kubernetes:"):
		meta, _ := p.Inputs["metadata"].(map[string]any)
		return namespaced(str(meta["namespace"]), str(meta["name"]))
	}
	return "", false
}

func namespaced(namespace, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	return strings.Join(slices.DeleteFunc([]string{namespace, name}, func(s string) bool { return s == "" }), "/"), true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
