package stackops

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
)

// Pending is a create the last operation on the stack started and never saw finish: the process
// was interrupted or killed while the provider created the resource. The resource may exist in
// the cloud without being in the state, and creating it again fails (azure-native refuses to take
// over what exists), so it must be read back into the state first.
type Pending struct {
	URN    string
	Type   string
	Inputs map[string]any
}

// State is what the stack's state says: the IDs of its resources by URN, and its pending creates.
type State struct {
	IDs     map[string]string
	Pending []Pending
}

// ReadState exports the stack's state (secrets stay encrypted; only names and IDs are read).
func (s *Stack) ReadState(ctx context.Context) (*State, error) {
	dep, err := s.stack.Export(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the state of stack %q: %w", s.name, cliError(err))
	}
	var d struct {
		Resources []struct {
			URN string `json:"urn"`
			ID  string `json:"id"`
		} `json:"resources"`
		PendingOperations []struct {
			Resource struct {
				URN    string         `json:"urn"`
				Type   string         `json:"type"`
				Inputs map[string]any `json:"inputs"`
			} `json:"resource"`
			Type string `json:"type"`
		} `json:"pending_operations"`
	}
	if len(dep.Deployment) > 0 {
		if err := json.Unmarshal(dep.Deployment, &d); err != nil {
			return nil, fmt.Errorf("reading the state of stack %q: %w", s.name, err)
		}
	}
	st := &State{IDs: map[string]string{}}
	for _, r := range d.Resources {
		st.IDs[r.URN] = r.ID
	}
	for _, op := range d.PendingOperations {
		if op.Type == "creating" {
			st.Pending = append(st.Pending, Pending{URN: op.Resource.URN, Type: op.Resource.Type, Inputs: op.Resource.Inputs})
		}
	}
	return st, nil
}

// RecoverPendingCreates records the pending creates whose cloud IDs are known as resources of the
// state with those IDs, drops the other pending creates (their create starts over), and refreshes
// the stack, running the program: each recorded resource is read from the cloud (one that was
// never created reads as gone and leaves the state again).
//
// The state is edited directly (export, move, import): the pulumi CLI's own way,
// `pulumi refresh --import-pending-creates URN ID`, marks them "importing" and then drops them
// (pulumi v3.274.1 keeps only pending creates from one snapshot to the next), so the resource
// stays out of the state and the next up fails on it.
func (s *Stack) RecoverPendingCreates(ctx context.Context, ids map[string]string) error {
	dep, err := s.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("reading the state of stack %q: %w", s.name, cliError(err))
	}
	var d map[string]any
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		return fmt.Errorf("reading the state of stack %q: %w", s.name, err)
	}
	resources, _ := d["resources"].([]any)
	ops, _ := d["pending_operations"].([]any)
	var kept []any
	for _, o := range ops {
		op, _ := o.(map[string]any)
		res, _ := op["resource"].(map[string]any)
		if op["type"] != "creating" || res == nil {
			kept = append(kept, o)
			continue
		}
		urn, _ := res["urn"].(string)
		id, ok := ids[urn]
		if !ok {
			continue // dropped: created again by the up
		}
		res["id"] = id
		if _, ok := res["outputs"]; !ok {
			res["outputs"] = res["inputs"]
		}
		// Its dependencies were created before it; nothing depends on it yet.
		resources = append(resources, res)
	}
	d["resources"], d["pending_operations"] = resources, kept
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dep.Deployment = raw
	if err := s.stack.Import(ctx, dep); err != nil {
		return fmt.Errorf("writing the state of stack %q: %w", s.name, cliError(err))
	}
	if _, err := s.stack.Refresh(ctx, optrefresh.RunProgram(true),
		optrefresh.ProgressStreams(s.progress), optrefresh.ErrorProgressStreams(s.progress)); err != nil {
		return s.opError(ctx, "reading back the interrupted creates of", err)
	}
	return nil
}
