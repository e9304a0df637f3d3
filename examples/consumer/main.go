// Command consumer is an example of another team's Pulumi program that builds on the
// metaflow-azure stack through its outputs, read with a StackReference: it grants one principal
// (a workload's managed identity, a group, a user) read access to the Metaflow datastore
// container, scoped to that container alone.
//
//	pulumi config set metaflowStack organization/metaflow-azure/dev   # file backend: organization/<project>/<stack>
//	pulumi config set principalId 00000000-0000-0000-0000-000000000000
//	pulumi config set principalType ServicePrincipal                  # or Group, User; default ServicePrincipal
//	pulumi up
package main

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// StorageBlobDataReaderRole is the ID of Azure's built-in "Storage Blob Data Reader" role,
// the same in every tenant:
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage#storage-blob-data-reader
const StorageBlobDataReaderRole = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

// principalTypes are the values this example accepts; ARM also knows ForeignGroup and Device.
var principalTypes = []string{"ServicePrincipal", "Group", "User"}

func main() {
	pulumi.Run(run)
}

func run(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	stack := cfg.Require("metaflowStack")
	principalID := cfg.Require("principalId")
	principalType := cfg.Get("principalType")
	if principalType == "" {
		principalType = "ServicePrincipal"
	}
	if !slices.Contains(principalTypes, principalType) {
		return fmt.Errorf("%s:principalType: %q must be one of %v", ctx.Project(), principalType, principalTypes)
	}

	ref, err := pulumi.NewStackReference(ctx, "metaflow", &pulumi.StackReferenceArgs{Name: pulumi.String(stack)})
	if err != nil {
		return fmt.Errorf("referencing stack %q: %w", stack, err)
	}
	// The role assignment needs the subscription in its IDs; the provider's own login knows it.
	client, err := authorization.GetClientConfig(ctx)
	if err != nil {
		return fmt.Errorf("reading the Azure client config: %w", err)
	}

	output := func(name string) pulumi.StringOutput {
		return ref.GetOutput(pulumi.String(name)).ApplyT(func(v any) (string, error) {
			s, ok := v.(string)
			if !ok || s == "" {
				return "", fmt.Errorf("stack %q has no output %q (deploy it with metaflow-azure up first)", stack, name)
			}
			return s, nil
		}).(pulumi.StringOutput)
	}
	scope := pulumi.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s/blobServices/default/containers/%s",
		client.SubscriptionId, output("resourceGroupName"), output("storageAccountName"), output("containerName"))

	assignment, err := authorization.NewRoleAssignment(ctx, "datastore-reader", &authorization.RoleAssignmentArgs{
		PrincipalId: pulumi.String(principalID),
		// Set explicitly: ARM otherwise has to look the principal up, which fails for a new
		// identity that Entra ID has not replicated yet.
		PrincipalType:    pulumi.String(principalType),
		RoleDefinitionId: pulumi.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", client.SubscriptionId, StorageBlobDataReaderRole),
		Scope:            scope,
		Description:      pulumi.String("read access to the Metaflow datastore of " + stack),
	})
	if err != nil {
		return fmt.Errorf("granting read access to the datastore: %w", err)
	}

	ctx.Export("roleAssignmentId", assignment.ID())
	ctx.Export("datastoreScope", scope)
	ctx.Export("datastoreRoot", output("datastoreRoot"))
	return nil
}
