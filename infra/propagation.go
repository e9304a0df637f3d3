package infra

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RoleAssignmentPropagation is how long a new Azure role assignment may take to be enforced
// everywhere: "When you assign roles or remove role assignments, it can take up to 10 minutes for
// changes to take effect" (Troubleshoot Azure RBAC, MicrosoftDocs/azure-docs
// articles/role-based-access-control/troubleshooting.md @ 012ad308,
// https://learn.microsoft.com/azure/role-based-access-control/troubleshooting). The same page
// says a fresh access token sees the change, which is why the AKS token is fetched after the wait.
// Using an assignment sooner can fail on a first deploy and succeed on the second.
const RoleAssignmentPropagation = 10 * time.Minute

// PropagationWait is how much longer to wait before relying on a role assignment created at
// createdOn (RFC 3339, as ARM returns it): nothing for one that has been in place for
// RoleAssignmentPropagation, so only the deploy that creates it waits.
func PropagationWait(createdOn string, now time.Time) (time.Duration, error) {
	created, err := time.Parse(time.RFC3339Nano, createdOn)
	if err != nil {
		return 0, fmt.Errorf("reading the role assignment's createdOn %q: %w", createdOn, err)
	}
	if wait := created.Add(RoleAssignmentPropagation).Sub(now); wait > 0 {
		return wait, nil
	}
	return 0, nil
}

// afterPropagation resolves to value once the role assignment whose createdOn is given has had
// time to propagate. Previews never wait.
func afterPropagation(ctx *pulumi.Context, createdOn pulumi.StringOutput, value pulumi.StringInput) pulumi.StringOutput {
	return pulumi.All(createdOn, value).ApplyT(func(vs []any) (string, error) {
		v := vs[1].(string)
		if ctx.DryRun() {
			return v, nil
		}
		wait, err := PropagationWait(vs[0].(string), time.Now())
		if err != nil {
			return "", err
		}
		if wait > 0 {
			_ = ctx.Log.Info(fmt.Sprintf("waiting %s for a new Azure role assignment to take effect before using it", wait.Round(time.Second)), nil)
			time.Sleep(wait)
		}
		return v, nil
	}).(pulumi.StringOutput)
}
