package armcontract

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// withConstraints loads the embedded contracts with a spec-constraints.json of the test's own.
func withConstraints(t *testing.T, doc string) (*Contracts, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	files, err := fs.ReadDir(data, "data")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() == constraintsFile {
			continue
		}
		b, err := fs.ReadFile(data, "data/"+f.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys["data/"+f.Name()] = &fstest.MapFile{Data: b}
	}
	fsys["data/"+constraintsFile] = &fstest.MapFile{Data: []byte(doc)}
	return load(fsys, "data")
}

func fixture(t *testing.T) *Contracts {
	t.Helper()
	b, err := os.ReadFile("testdata/spec-constraints.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := withConstraints(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSpecPattern(t *testing.T) {
	c := fixture(t)
	refused(t, check(t, c, aks, set(valid(aks), "agentPoolProfiles.0.name", "System")), "properties.agentPoolProfiles[0].name", "PATTERN", "System")
	refused(t, check(t, c, agentPool, set(valid(agentPool), "agentPoolName", "Compute")), "{agentPoolName}", "PATTERN")
	// \u0061 ("a") translated to RE2.
	refused(t, check(t, c, pgServer, set(valid(pgServer), "administratorLogin", "bob")), "properties.administratorLogin", "PATTERN")
}

func TestSpecLengths(t *testing.T) {
	c := fixture(t)
	refused(t, check(t, c, storageAcc, set(valid(storageAcc), "accountName", "st")), "{accountName}", "MIN_LENGTH", "minimum 3")
	refused(t, check(t, c, storageAcc, set(valid(storageAcc), "accountName", strings.Repeat("a", 25))), "{accountName}", "MAX_LENGTH", "maximum 24")
}

func TestSpecRange(t *testing.T) {
	c := fixture(t)
	refused(t, check(t, c, aks, set(valid(aks), "agentPoolProfiles.0.osDiskSizeGB", 4096)), "properties.agentPoolProfiles[0].osDiskSizeGB", "MAXIMUM", "2048")
	refused(t, check(t, c, blobSvc, set(valid(blobSvc), "deleteRetentionPolicy.days", 0)), "properties.deleteRetentionPolicy.days", "MINIMUM")
}

func TestConstraintsFailLoudly(t *testing.T) {
	for name, c := range map[string]string{
		"lookahead":     `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "{accountName}", "pattern": "^(?!x)[a-z]+$"}`,
		"backreference": `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "{accountName}", "pattern": "^(a)\\1$"}`,
		"unknown path":  `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "properties.noSuchThing", "maxLength": 3}`,
		"unknown param": `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "{storageAccountName}", "maxLength": 3}`,
		"not an array":  `{"provider": "Microsoft.ContainerService", "resourceType": "managedClusters", "apiVersion": "2024-10-01", "path": "properties.dnsPrefix[]", "maxLength": 3}`,
		"no limit":      `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "{accountName}"}`,
		"unknown key":   `{"provider": "Microsoft.Storage", "resourceType": "storageAccounts", "apiVersion": "2022-09-01", "path": "{accountName}", "maxLen": 3}`,
	} {
		if _, err := withConstraints(t, `{"source": "t", "constraints": [`+c+`]}`); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}
