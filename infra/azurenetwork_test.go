package infra

import (
	"os"
	"regexp"
	"testing"
)

// The network resources are registered with the provider version of the azure-native root
// module (utilities.PkgResourceDefaultOpts), and tools/armcontract reads their API versions from
// the network SDK pinned in go.mod: the two must be the same release, or the contract checked
// would be another version's.
func TestNetworkSDKIsTheProvidersVersion(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	version := func(module string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("go.mod does not require %s", module)
		}
		return string(m[1])
	}
	root, network := version("github.com/pulumi/pulumi-azure-native-sdk/v2"), version("github.com/pulumi/pulumi-azure-native-sdk/network/v2")
	if root != network {
		t.Errorf("the network resources are registered as azure-native %s, but go.mod pins the network SDK (whose source names their API versions) at %s", root, network)
	}
}
