package fakeazure

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/armcontract"
	"metaflow-azure/internal/azurefacts"
)

// ARMError is a request the fake refuses the way Azure Resource Manager would, with ARM's error
// code where it has one.
type ARMError struct {
	Type, Name string
	Code       string
	// Target is the property or parameter refused.
	Target  string
	Message string
}

func (e *ARMError) Error() string {
	return fmt.Sprintf("fakeazure: Azure refuses %s %q: %s: %s: %s", e.Type, e.Name, e.Code, e.Target, e.Message)
}

// Checker checks a request against Microsoft's published contract for the API version it is
// sent with (internal/armcontract); it returns refusals, or an error for a type it has no
// contract for.
type Checker interface {
	Check(typeToken string, inputs resource.PropertyMap) ([]ARMError, error)
}

// contractChecker adapts the ARM contracts (internal/armcontract) to the fake.
type contractChecker struct{ c *armcontract.Contracts }

func (cc contractChecker) Check(typeToken string, inputs resource.PropertyMap) ([]ARMError, error) {
	vs, err := cc.c.Check(typeToken, inputs)
	if err != nil {
		return nil, err
	}
	out := make([]ARMError, len(vs))
	for i, v := range vs {
		out[i] = ARMError{Code: v.Code, Target: v.Path, Message: v.Message}
	}
	return out, nil
}

// publishedContracts are Microsoft's API contracts as extracted into internal/armcontract.
func publishedContracts() Checker {
	c, err := armcontract.Load()
	if err != nil {
		// The data is embedded and checked by its own tests; failing to load it is a bug.
		panic(fmt.Sprintf("fakeazure: loading the ARM contracts: %v", err))
	}
	return contractChecker{c}
}

var (
	guidRe           = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	roleDefinitionRe = regexp.MustCompile(`^(?:/subscriptions/([^/]+))?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$`)
)

// Conform returns what ARM would refuse in a request for an Azure resource: first against the
// API contract, then the rules that live outside it (built-in roles, role assignment names,
// regional capability, password rules).
func (a *Azure) Conform(typ, name string, in resource.PropertyMap) []ARMError {
	if !strings.HasPrefix(typ, "azure-native:") {
		return nil
	}
	var refusals []ARMError
	refuse := func(code, target, format string, args ...any) {
		refusals = append(refusals, ARMError{Type: typ, Name: name, Code: code, Target: target, Message: fmt.Sprintf(format, args...)})
	}
	if a.contracts != nil {
		found, err := a.contracts.Check(typ, in)
		if err != nil {
			refuse("NoContract", typ, "%v", err)
		}
		for _, f := range found {
			f.Type, f.Name = typ, name
			refusals = append(refusals, f)
		}
	}
	// Private DNS zones and their links, action groups and metric alerts are global
	// resources: ARM takes "global" there.
	global := typ == "azure-native:network:PrivateZone" || typ == "azure-native:network:VirtualNetworkLink" ||
		typ == "azure-native:insights:ActionGroup" || typ == "azure-native:insights:MetricAlert"
	if loc := str(in, "location"); loc != "" && !(global && strings.EqualFold(loc, "global")) && !slices.Contains(azurefacts.RegionNames(), loc) {
		refuse("LocationNotAvailableForResourceType", "location", "%q is not an Azure region", loc)
	}
	region, known := azurefacts.LookupRegion(str(in, "location"))
	resourceType := typ[strings.LastIndex(typ, ":")+1:]
	switch resourceType {
	case "ManagedCluster":
		// networkPolicy cilium "requires networkDataplane to be 'cilium'" (azure-native
		// containerservice v20241001 pulumiEnums.go:3555, the enum's description in the REST
		// API spec). The code is the fake's own: the sources read do not give ARM's.
		profile := objectOf(in, "networkProfile")
		if str(profile, "networkPolicy") == azurefacts.NetworkPolicyCilium && str(profile, "networkDataplane") != azurefacts.NetworkDataplaneCilium {
			refuse("CiliumPolicyNeedsCiliumDataplane", "networkProfile.networkPolicy", "networkPolicy cilium requires networkDataplane cilium, not %q", str(profile, "networkDataplane"))
		}
	case "RoleAssignment":
		conformRoleAssignment(in, refuse)
		// azure-native sends principalType "User" when none is given.
		declared := str(in, "principalType")
		if declared == "" {
			declared = "User"
		}
		if actual, ok := a.principalType(str(in, "principalId")); ok && actual != declared {
			refuse("UnmatchedPrincipalType", "principalType", "The PrincipalId '%s' has type '%s', which is different from specified PrincipalType '%s'.", str(in, "principalId"), actual, declared)
		}
	case "StorageAccount":
		sku := str(objectOf(in, "sku"), "name")
		if known && !region.Zones && slices.Contains([]string{"Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS", "Premium_ZRS"}, sku) {
			refuse("RedundancyConfigurationNotAvailableInRegion", "sku.name", "%s is not available in %s, which has no availability zones", sku, region.Name)
		}
		if known && region.Pair == "" && slices.Contains([]string{"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"}, sku) {
			refuse("RedundancyConfigurationNotAvailableInRegion", "sku.name", "%s is not available in %s, which has no paired region", sku, region.Name)
		}
	case "Server":
		if known && strings.EqualFold(str(objectOf(in, "highAvailability"), "mode"), "ZoneRedundant") && !region.PostgresZoneRedundantHA {
			refuse("ZoneRedundantHighAvailabilityNotSupported", "highAvailability.mode", "zone-redundant high availability is not supported in %s", region.Name)
		}
		if known && strings.EqualFold(str(objectOf(in, "backup"), "geoRedundantBackup"), "Enabled") && !region.PostgresGeoBackup {
			refuse("GeoBackupsNotSupported", "backup.geoRedundantBackup", "geo-redundant backup is not supported in %s", region.Name)
		}
		if login, password := str(in, "administratorLogin"), str(in, "administratorLoginPassword"); login != "" && password != "" {
			for _, p := range azurefacts.PostgresPasswordProblems(login, password) {
				refuse("PasswordNotComplex", "administratorLoginPassword", "the password %s", p)
			}
		}
	}
	return refusals
}

func conformRoleAssignment(in resource.PropertyMap, refuse func(code, target, format string, args ...any)) {
	if n := str(in, "roleAssignmentName"); n != "" && !guidRe.MatchString(n) {
		refuse("InvalidRoleAssignmentId", "roleAssignmentName", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", n)
	}
	// A preview sends unknown values for what other resources compute; ARM sees them only once
	// they are known.
	if p := str(in, "principalId"); !unknown(in, "principalId") && !guidRe.MatchString(p) {
		refuse("InvalidPrincipalId", "principalId", "%q is not a GUID", p)
	}
	def := str(in, "roleDefinitionId")
	m := roleDefinitionRe.FindStringSubmatch(def)
	switch {
	case unknown(in, "roleDefinitionId"):
	case m == nil:
		refuse("InvalidRoleDefinitionId", "roleDefinitionId", "%q is not /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/{guid} (don't use resourceId(): it adds the resource group)", def)
	case m[1] != "" && m[1] != SubscriptionID:
		refuse("LinkedAuthorizationFailed", "roleDefinitionId", "role definition of subscription %s used in subscription %s", m[1], SubscriptionID)
	default:
		if _, ok := azurefacts.RoleName(m[2]); !ok {
			refuse("RoleDefinitionDoesNotExist", "roleDefinitionId", "The specified role definition with ID '%s' does not exist.", m[2])
		}
	}
	if scope := str(in, "scope"); !unknown(in, "scope") && !strings.HasPrefix(scope, "/subscriptions/"+SubscriptionID) {
		refuse("InvalidScope", "scope", "%q is not a scope in subscription %s", scope, SubscriptionID)
	}
}

// unknown tells a value a preview does not know yet (under secrets and outputs).
func unknown(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.ContainsUnknowns()
}

func objectOf(m resource.PropertyMap, key string) resource.PropertyMap {
	v, ok := m[resource.PropertyKey(key)]
	for ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if ok && v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}
