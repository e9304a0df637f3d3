package azurefacts

import "strings"

// Built-in role definition GUIDs, the same in every tenant.
//
// Source: Microsoft's built-in roles table, MicrosoftDocs/azure-docs
// articles/role-based-access-control/built-in-roles.md (ms.date 2026-04-09), which is
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles, each GUID
// confirmed a second time in Azure Verified Modules' builtInRoleNames maps
// (Azure/bicep-registry-modules @ 9f9ea1a1); recorded in ../shared/reference/azure-builtin-roles.md.
const (
	RoleStorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	RoleStorageBlobDataReader      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	RoleAKSClusterUser             = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
	RoleAKSContributor             = "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8"
	RoleAKSRBACWriter              = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
	RoleAKSRBACClusterAdmin        = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
	RoleNetworkContributor         = "4d97b98b-1d4f-4787-a291-c67834d212e7"
	RoleAcrPull                    = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
)

// Role is a built-in role: its name as Microsoft's table writes it and its GUID.
type Role struct {
	Name string
	GUID string
}

// BuiltInRoles lists every built-in role the stack may assign. The conformance layer of the
// fake Azure refuses a role assignment whose role definition is not one of these, the way ARM
// answers RoleDefinitionDoesNotExist.
func BuiltInRoles() []Role {
	return []Role{
		{"Storage Blob Data Contributor", RoleStorageBlobDataContributor},
		{"Storage Blob Data Reader", RoleStorageBlobDataReader},
		{"Azure Kubernetes Service Cluster User Role", RoleAKSClusterUser},
		{"Azure Kubernetes Service Contributor Role", RoleAKSContributor},
		{"Azure Kubernetes Service RBAC Writer", RoleAKSRBACWriter},
		{"Azure Kubernetes Service RBAC Cluster Admin", RoleAKSRBACClusterAdmin},
		{"Network Contributor", RoleNetworkContributor},
		{"AcrPull", RoleAcrPull},
	}
}

// RoleName returns the built-in role's name for a GUID or a role definition ID ending in one.
func RoleName(guidOrID string) (string, bool) {
	guid := strings.ToLower(guidOrID[strings.LastIndex(guidOrID, "/")+1:])
	for _, r := range BuiltInRoles() {
		if r.GUID == guid {
			return r.Name, true
		}
	}
	return "", false
}
