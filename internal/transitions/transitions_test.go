package transitions

import (
	"errors"
	"strings"
	"testing"

	"metaflow-azure/internal/settings"
)

func applied() Applied {
	return Applied{SystemPoolVMSize: "Standard_D4ds_v5", AzureRBAC: true, GeoRedundantBackup: false, KubernetesMinor: 36, PostgresMajor: 16}
}

func TestCheckRefusesWhatAzureCannotChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Applied)
		key    string
		msg    string
	}{
		{"system pool size", func(a *Applied) { a.SystemPoolVMSize = "Standard_D8ds_v5" }, "aks.systemPool.vmSize", "cannot change the VM size"},
		{"azure rbac off", func(a *Applied) { a.AzureRBAC = false }, "aks.azureRbac", "cannot go back to false"},
		{"geo backup on", func(a *Applied) { a.GeoRedundantBackup = true }, "postgres.geoRedundantBackup", "fixed when the PostgreSQL server is created"},
		{"kubernetes downgrade", func(a *Applied) { a.KubernetesMinor = 35 }, "aks.kubernetesVersion", "downgrade"},
		{"postgres downgrade", func(a *Applied) { a.PostgresMajor = 15 }, "postgres.version", "downgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, next := applied(), applied()
			tc.change(&next)
			err := Check(&prev, next)
			var fe *settings.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.key || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("Check: %v; want an error on %s containing %q", err, tc.key, tc.msg)
			}
		})
	}
}

func TestCheckAllowsWhatAzureCanChange(t *testing.T) {
	prev := applied()
	next := applied()
	next.KubernetesMinor, next.PostgresMajor = 37, 17
	if err := Check(&prev, next); err != nil {
		t.Errorf("upgrades refused: %v", err)
	}
	prev.AzureRBAC = false
	next.AzureRBAC = true
	if err := Check(&prev, next); err != nil {
		t.Errorf("turning Azure RBAC on refused: %v", err)
	}
	if err := Check(nil, next); err != nil {
		t.Errorf("a first deployment refused: %v", err)
	}
}

func TestParse(t *testing.T) {
	a, err := Parse(map[string]any{"systemPoolVmSize": "Standard_D4ds_v5", "azureRbac": true, "kubernetesMinor": 36.0})
	if err != nil || a.SystemPoolVMSize != "Standard_D4ds_v5" || !a.AzureRBAC || a.KubernetesMinor != 36 {
		t.Errorf("Parse: %+v, %v", a, err)
	}
	if a, err := Parse(nil); a != nil || err != nil {
		t.Errorf("Parse(nil) = %+v, %v", a, err)
	}
}
