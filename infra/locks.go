package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// DeleteLockName is the name of every delete lock the stack sets; destroy and the runbook name
// it when they explain how to lift one.
const DeleteLockName = "metaflow-protect-data"

// LockTarget is one resource to lock against deletion.
type LockTarget struct {
	// Key names the Pulumi resource (<name>-<key>).
	Key string
	// Scope is the resource's ARM ID.
	Scope pulumi.StringInput
	// What is said in the lock's notes, e.g. "the Metaflow datastore".
	What string
}

// NewDeleteLocks puts a CanNotDelete management lock on each target, so no portal click, CLI
// call or other tool deletes it; reads and changes still work. protect and retainOnDelete guard
// only against Pulumi. The lock takes its scope from the target's ID, so Pulumi creates it after
// the target and deletes it before (when protectData is turned off, the next up lifts it).
func NewDeleteLocks(ctx *pulumi.Context, name string, targets []LockTarget, opts ...pulumi.ResourceOption) ([]*authorization.ManagementLockByScope, error) {
	g, parent, err := newGroup(ctx, "DeleteLocks", name, opts...)
	if err != nil {
		return nil, err
	}
	var locks []*authorization.ManagementLockByScope
	for _, t := range targets {
		if t.Key == "" || t.Scope == nil || t.What == "" {
			return nil, fmt.Errorf("internal-error: DeleteLocks: Key, Scope and What are required")
		}
		lock, err := authorization.NewManagementLockByScope(ctx, name+"-"+t.Key, &authorization.ManagementLockByScopeArgs{
			LockName: pulumi.String(DeleteLockName),
			Scope:    t.Scope,
			Level:    pulumi.String(azurefacts.LockCanNotDelete),
			Notes: pulumi.String(fmt.Sprintf("protectData: %s must not be deleted by accident. To delete it on purpose set protectData to false and deploy (that lifts this lock); see docs/operations.md#delete-locks.",
				t.What)),
		}, parent)
		if err != nil {
			return nil, err
		}
		locks = append(locks, lock)
	}
	return locks, g.done(ctx)
}
