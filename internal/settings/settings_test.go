package settings

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testDay fixes the day the support calendars are read on, so the tests do not change with it.
var testDay = time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC)

func load(config map[string]string) (*Settings, error) { return LoadOn(Project, config, testDay) }

// minimal is the smallest valid config: the two required keys.
func minimal() map[string]string {
	return map[string]string{
		"metaflow-azure:location":   "westeurope",
		"metaflow-azure:namePrefix": "acme",
	}
}

func with(extra map[string]string) map[string]string {
	cfg := minimal()
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func TestLoadMinimalGetsDefaults(t *testing.T) {
	t.Parallel()
	s, err := load(minimal())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Defaults()
	if s.AKS.SystemPool != want.AKS.SystemPool || s.Postgres != want.Postgres || !s.ProtectData {
		t.Errorf("defaults not applied: %+v", s)
	}
	if s.Location != "westeurope" || s.NamePrefix != "acme" {
		t.Errorf("required keys not read: %q %q", s.Location, s.NamePrefix)
	}
}

func TestLoadComplete(t *testing.T) {
	t.Parallel()
	s, err := load(with(map[string]string{
		"metaflow-azure:protectData": "false",
		"metaflow-azure:tags":        `{"team":"ml","cost-center":"42"}`,
		"metaflow-azure:network":     `{"vnetCidr":"10.50.0.0/16","aksSubnetCidr":"10.50.0.0/20","postgresSubnetCidr":"10.50.16.0/28"}`,
		"metaflow-azure:aks":         `{"kubernetesVersion":"1.35.2","upgradeChannel":"none","skuTier":"Free","authorizedIpRanges":["203.0.113.0/24"],"azureRbac":true,"systemPool":{"vmSize":"Standard_D2ds_v5","minCount":1,"maxCount":2},"taskPool":{"maxCount":50}}`,
		"metaflow-azure:postgres":    `{"version":15,"sku":"B_Standard_B1ms","storageGb":64,"backupRetentionDays":35,"geoRedundantBackup":true}`,
		"metaflow-azure:storage":     `{"replication":"RAGZRS","softDeleteDays":365}`,
		"metaflow-azure:identity":    `{"secretLifetimeDays":30}`,
		"metaflow-azure:access":      `{"flowRunners":[{"objectId":"11111111-2222-3333-4444-555555555555","type":"Group"}]}`,
		"metaflow-azure:metaflow":    `{"replicas":3,"taskNamespace":"jobs"}`,
		"metaflow-azure:argo":        `{"chartVersion":"1.0.18","authMode":"server"}`,
		"metaflow-azure:argoEvents":  `{"enabled":false}`,
		"azure-native:location":      "ignored",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	switch {
	case s.ProtectData:
		t.Error("protectData false not read")
	case s.Tags["cost-center"] != "42":
		t.Errorf("tags: %v", s.Tags)
	case s.AKS.TaskPool != NodePool{VMSize: "Standard_D8ds_v5", MinCount: 0, MaxCount: 50}:
		t.Errorf("task pool: nested keys must override only what they name: %+v", s.AKS.TaskPool)
	case s.Postgres.Version != "15" || s.Postgres.StorageGB != 64:
		t.Errorf("postgres: %+v", s.Postgres)
	case len(s.Access.FlowRunners) != 1 || s.Access.FlowRunners[0].Type != "Group":
		t.Errorf("access: %+v", s.Access)
	case s.Metaflow.Namespace != "metaflow" || s.Metaflow.TaskNamespace != "jobs":
		t.Errorf("metaflow: %+v", s.Metaflow)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]string
		key     string
		message string
	}{
		{"missing location", map[string]string{"metaflow-azure:namePrefix": "acme"}, "location", "is required"},
		{"misspelt region", with(map[string]string{"metaflow-azure:location": "westeurop"}), "location", `did you mean "westeurope"`},
		{"region with spaces", with(map[string]string{"metaflow-azure:location": "West Europe"}), "location", `did you mean "westeurope"`},
		{"missing prefix", map[string]string{"metaflow-azure:location": "westeurope"}, "namePrefix", "is required"},
		{"prefix upper case", with(map[string]string{"metaflow-azure:namePrefix": "Acme"}), "namePrefix", "lowercase"},
		{"prefix at 9 chars", with(map[string]string{"metaflow-azure:namePrefix": "abcdefghi"}), "namePrefix", "2–8"},
		{"prefix starts with digit", with(map[string]string{"metaflow-azure:namePrefix": "1acme"}), "namePrefix", "starting with a letter"},
		{"unknown nested key typo", with(map[string]string{"metaflow-azure:aks": `{"taskPool":{"maxCuont":3}}`}), "aks.taskPool.maxCuont", `did you mean "maxCount"`},
		{"unknown top-level key", with(map[string]string{"metaflow-azure:postgress": `{}`}), "postgress", `did you mean "postgres"`},
		{"flat dotted key", with(map[string]string{"metaflow-azure:aks.skuTier": "Free"}), "aks.skuTier", "--path"},
		{"wrong type for int", with(map[string]string{"metaflow-azure:postgres": `{"storageGb":"lots"}`}), "postgres.storageGb", "whole number"},
		{"wrong type for bool", with(map[string]string{"metaflow-azure:protectData": "yes"}), "protectData", "true or false"},
		{"object expected", with(map[string]string{"metaflow-azure:aks": `"big"`}), "aks", "must be an object"},
		{"fractional version", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":1.30}`}), "aks.kubernetesVersion", "quote the value"},
		{"reserved tag", with(map[string]string{"metaflow-azure:tags": `{"environment":"x"}`}), "tags.environment", "set by the stack"},
		{"bad tag name", with(map[string]string{"metaflow-azure:tags": `{"a/b":"x"}`}), "tags.a/b", "none of"},
		{"bad vnet cidr", with(map[string]string{"metaflow-azure:network": `{"vnetCidr":"10.40.0.0/33"}`}), "network.vnetCidr", "not a CIDR"},
		{"octet over 255", with(map[string]string{"metaflow-azure:network": `{"vnetCidr":"10.400.0.0/16"}`}), "network.vnetCidr", "not a CIDR"},
		{"host bits set", with(map[string]string{"metaflow-azure:network": `{"aksSubnetCidr":"10.40.0.1/22"}`}), "network.aksSubnetCidr", "did you mean 10.40.0.0/22"},
		{"ipv6", with(map[string]string{"metaflow-azure:network": `{"vnetCidr":"fd00::/48"}`}), "network.vnetCidr", "IPv4"},
		{"subnet outside vnet", with(map[string]string{"metaflow-azure:network": `{"aksSubnetCidr":"10.41.0.0/22"}`}), "network.aksSubnetCidr", "inside network.vnetCidr"},
		{"overlapping subnets", with(map[string]string{"metaflow-azure:network": `{"postgresSubnetCidr":"10.40.1.0/24"}`}), "network.postgresSubnetCidr", "overlaps network.aksSubnetCidr"},
		{"postgres subnet too small", with(map[string]string{"metaflow-azure:network": `{"postgresSubnetCidr":"10.40.8.0/29"}`}), "network.postgresSubnetCidr", "/28 or larger"},
		{"aks subnet too small", with(map[string]string{"metaflow-azure:network": `{"aksSubnetCidr":"10.40.0.0/28"}`}), "network.aksSubnetCidr", "usable addresses"},
		{"pod cidr overlaps vnet", with(map[string]string{"metaflow-azure:network": `{"podCidr":"10.40.128.0/17"}`}), "network.podCidr", "must not overlap network.vnetCidr"},
		{"service cidr reserved", with(map[string]string{"metaflow-azure:network": `{"serviceCidr":"169.254.0.0/16"}`}), "network.serviceCidr", "AKS reserves"},
		{"k8s version shape", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"v1.35"}`}), "aks.kubernetesVersion", "like 1.36"},
		{"k8s version too old", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.22"}`}), "aks.kubernetesVersion", "past the end of AKS support"},
		{"sku tier", with(map[string]string{"metaflow-azure:aks": `{"skuTier":"Gold"}`}), "aks.skuTier", "Free, Standard"},
		{"authorized range", with(map[string]string{"metaflow-azure:aks": `{"authorizedIpRanges":["1.2.3.4/33"]}`}), "aks.authorizedIpRanges[0]", "not a CIDR"},
		{"vm size shape", with(map[string]string{"metaflow-azure:aks": `{"systemPool":{"vmSize":"D4s_v5"}}`}), "aks.systemPool.vmSize", "Standard_D4ds_v5"},
		{"system pool zero", with(map[string]string{"metaflow-azure:aks": `{"systemPool":{"minCount":0}}`}), "aks.systemPool.minCount", "between 1 and"},
		{"min above max", with(map[string]string{"metaflow-azure:aks": `{"taskPool":{"minCount":5,"maxCount":2}}`}), "aks.taskPool.minCount", "at most maxCount"},
		{"pool over limit", with(map[string]string{"metaflow-azure:aks": `{"taskPool":{"maxCount":1001}}`}), "aks.taskPool.maxCount", "between 1 and 1000"},
		{"postgres 12", with(map[string]string{"metaflow-azure:postgres": `{"version":"12"}`}), "postgres.version", "left Azure standard support"},
		{"postgres 17 not in the API version", with(map[string]string{"metaflow-azure:postgres": `{"version":"17"}`}), "postgres.version", "2024-08-01 lists up to 16"},
		{"postgres 18 preview", with(map[string]string{"metaflow-azure:postgres": `{"version":"18"}`}), "postgres.version", "preview"},
		{"k8s lts only", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.33"}`}), "aks.kubernetesVersion", "Long Term Support"},
		{"k8s past support", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.34"}`}), "aks.kubernetesVersion", "left AKS standard support on 2026-11-01"},
		{"k8s preview", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.37"}`}), "aks.kubernetesVersion", "preview"},
		{"k8s patch pin on the patch channel", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.35.4"}`}), "aks.kubernetesVersion", "pins a patch"},
		{"upgrade channel moving the minor", with(map[string]string{"metaflow-azure:aks": `{"upgradeChannel":"stable"}`}), "aks.upgradeChannel", "patch, node-image, none"},
		{"kube login", with(map[string]string{"metaflow-azure:aks": `{"kubeLogin":"devicecode"}`}), "aks.kubeLogin", "token, azurecli"},
		{"service cidr too small", with(map[string]string{"metaflow-azure:network": `{"serviceCidr":"10.0.0.0/29"}`}), "network.serviceCidr", "/28 or larger"},
		{"zrs without zones", with(map[string]string{"metaflow-azure:location": "westus"}), "storage.replication", "needs availability zones"},
		{"grs without a pair", with(map[string]string{"metaflow-azure:location": "polandcentral", "metaflow-azure:storage": `{"replication":"GRS"}`}), "storage.replication", "has none"},
		{"gzrs without zones", with(map[string]string{"metaflow-azure:location": "canadaeast", "metaflow-azure:storage": `{"replication":"GZRS"}`}), "storage.replication", "needs availability zones"},
		{"ha without zones", with(map[string]string{"metaflow-azure:location": "northcentralus", "metaflow-azure:storage": `{"replication":"LRS"}`, "metaflow-azure:postgres": `{"highAvailability":true}`}), "postgres.highAvailability", "zone-redundant HA"},
		{"geo backup without a two-way pair", with(map[string]string{"metaflow-azure:location": "westus3", "metaflow-azure:postgres": `{"geoRedundantBackup":true}`}), "postgres.geoRedundantBackup", "two-way pair"},
		{"geo backup without a pair", with(map[string]string{"metaflow-azure:location": "italynorth", "metaflow-azure:postgres": `{"geoRedundantBackup":true}`}), "postgres.geoRedundantBackup", "has none"},
		{"user runner without upn", with(map[string]string{"metaflow-azure:aks": `{"azureRbac":true}`, "metaflow-azure:access": `{"flowRunners":[{"objectId":"11111111-2222-3333-4444-555555555555","type":"User"}]}`}), "access.flowRunners[0].userPrincipalName", "user principal name"},
		{"group runner with upn", with(map[string]string{"metaflow-azure:aks": `{"azureRbac":true}`, "metaflow-azure:access": `{"flowRunners":[{"objectId":"11111111-2222-3333-4444-555555555555","type":"Group","userPrincipalName":"a@b.c"}]}`}), "access.flowRunners[0].userPrincipalName", "only for users"},
		{"postgres sku", with(map[string]string{"metaflow-azure:postgres": `{"sku":"Standard_B1ms"}`}), "postgres.sku", "tier B"},
		{"ha on burstable", with(map[string]string{"metaflow-azure:postgres": `{"sku":"B_Standard_B1ms","highAvailability":true}`}), "postgres.highAvailability", "Burstable"},
		{"postgres storage", with(map[string]string{"metaflow-azure:postgres": `{"storageGb":100}`}), "postgres.storageGb", "32, 64"},
		{"backup days 6", with(map[string]string{"metaflow-azure:postgres": `{"backupRetentionDays":6}`}), "postgres.backupRetentionDays", "between 7 and 35"},
		{"backup days 36", with(map[string]string{"metaflow-azure:postgres": `{"backupRetentionDays":36}`}), "postgres.backupRetentionDays", "between 7 and 35"},
		{"replication", with(map[string]string{"metaflow-azure:storage": `{"replication":"XRS"}`}), "storage.replication", "LRS, ZRS"},
		{"soft delete 0", with(map[string]string{"metaflow-azure:storage": `{"softDeleteDays":0}`}), "storage.softDeleteDays", "between 1 and 365"},
		{"soft delete 366", with(map[string]string{"metaflow-azure:storage": `{"softDeleteDays":366}`}), "storage.softDeleteDays", "between 1 and 365"},
		{"secret lifetime", with(map[string]string{"metaflow-azure:identity": `{"secretLifetimeDays":0}`}), "identity.secretLifetimeDays", "between 1 and 730"},
		{"rotation without a secret", with(map[string]string{"metaflow-azure:identity": `{"secretRotation":"2026-11"}`}), "identity.secretRotation", "only with identity.clientSecret: true"},
		{"runner not a guid", with(map[string]string{"metaflow-azure:aks": `{"azureRbac":true}`, "metaflow-azure:access": `{"flowRunners":[{"objectId":"alice","type":"User"}]}`}), "access.flowRunners[0].objectId", "GUID"},
		{"runner type", with(map[string]string{"metaflow-azure:aks": `{"azureRbac":true}`, "metaflow-azure:access": `{"flowRunners":[{"objectId":"11111111-2222-3333-4444-555555555555","type":"ServicePrincipal"}]}`}), "access.flowRunners[0].type", "User, Group"},
		{"runners without azure rbac", with(map[string]string{"metaflow-azure:access": `{"flowRunners":[{"objectId":"11111111-2222-3333-4444-555555555555","type":"User"}]}`}), "access.flowRunners", "aks.azureRbac"},
		{"unpinned image", with(map[string]string{"metaflow-azure:metaflow": `{"uiImage":"public.ecr.aws/outerbounds/metaflow_ui"}`}), "metaflow.uiImage", "must be pinned"},
		{"latest image", with(map[string]string{"metaflow-azure:metaflow": `{"metadataImage":"public.ecr.aws/outerbounds/metaflow_metadata_service:latest"}`}), "metaflow.metadataImage", "not \"latest\""},
		{"replicas 1", with(map[string]string{"metaflow-azure:metaflow": `{"replicas":1}`}), "metaflow.replicas", "between 2 and 10"},
		{"replicas 11", with(map[string]string{"metaflow-azure:metaflow": `{"replicas":11}`}), "metaflow.replicas", "between 2 and 10"},
		{"namespace shape", with(map[string]string{"metaflow-azure:metaflow": `{"namespace":"Metaflow"}`}), "metaflow.namespace", "namespace name"},
		{"namespace clash", with(map[string]string{"metaflow-azure:metaflow": `{"taskNamespace":"argo"}`}), "argo.namespace", "already used by metaflow.taskNamespace"},
		{"reserved namespace", with(map[string]string{"metaflow-azure:metaflow": `{"namespace":"kube-system"}`}), "metaflow.namespace", "reserved"},
		{"chart version", with(map[string]string{"metaflow-azure:argo": `{"chartVersion":"latest"}`}), "argo.chartVersion", "exact chart version"},
		{"auth mode", with(map[string]string{"metaflow-azure:argo": `{"authMode":"none"}`}), "argo.authMode", "client, server"},
		{"events without argo", with(map[string]string{"metaflow-azure:argo": `{"enabled":false}`}), "argoEvents.enabled", "argo.enabled is false"},
		{"replicas do not fit burstable connections", with(map[string]string{"metaflow-azure:postgres": `{"sku":"B_Standard_B1ms"}`, "metaflow-azure:metaflow": `{"replicas":4}`}), "metaflow.replicas", `postgres.sku "B_Standard_B1ms"`},
		{"sku without a connection limit", with(map[string]string{"metaflow-azure:postgres": `{"sku":"GP_Standard_D3ds_v5"}`}), "postgres.sku", "max_connections"},
		{"unpinned task image", with(map[string]string{"metaflow-azure:metaflow": `{"taskImage":"acme/metaflow-task"}`}), "metaflow.taskImage", "must be pinned"},
		{"registry sku", with(map[string]string{"metaflow-azure:registry": `{"enabled":true,"sku":"Gold"}`}), "registry.sku", "Basic, Standard, Premium"},
		{"jetstream version", with(map[string]string{"metaflow-azure:argoEvents": `{"jetstreamVersion":"latest"}`}), "argoEvents.jetstreamVersion", "exact NATS version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tt.config)
			if err == nil {
				t.Fatalf("Load accepted the config; want an error on %s", tt.key)
			}
			if !hasFieldError(err, "metaflow-azure:"+tt.key, tt.message) {
				t.Errorf("want an error on metaflow-azure:%s containing %q; got:\n%v", tt.key, tt.message, err)
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := load(map[string]string{
		"metaflow-azure:aks":      `{"skuTier":"Gold"}`,
		"metaflow-azure:postgres": `{"version":"12"}`,
	})
	for _, key := range []string{"location", "namePrefix", "aks.skuTier", "postgres.version"} {
		if !hasFieldError(err, "metaflow-azure:"+key, "") {
			t.Errorf("missing error for %s in:\n%v", key, err)
		}
	}
}

func hasFieldError(err error, path, substr string) bool {
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Path == path && strings.Contains(fe.Msg, substr) {
			return true
		}
	}
	return false
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int
	}{{"maxCuont", "maxCount", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"same", "same", 0}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestLoadWarns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config map[string]string
		day    time.Time
		want   string
	}{
		{"postgres 14 near its end", with(map[string]string{"metaflow-azure:postgres": `{"version":"14"}`}), testDay, "postgres.version: PostgreSQL 14 leaves Azure standard support on 2026-12-11"},
		{"kubernetes near its end", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.35"}`}), time.Date(2026, time.December, 15, 0, 0, 0, 0, time.UTC), "aks.kubernetesVersion: 1.35 leaves AKS standard support on 2027-03-01"},
		{"region without confirmed capabilities", with(map[string]string{"metaflow-azure:location": "australiacentral"}), testDay, "location: australiacentral is not in the stack's region table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadOn(Project, tc.config, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(s.Warnings(), func(w string) bool { return strings.HasPrefix(w, tc.want) }) {
				t.Errorf("warnings %q; want one starting %q", s.Warnings(), tc.want)
			}
		})
	}
	// With an alert address (the one setting monitoring wants), the defaults warn nothing.
	s, err := load(with(map[string]string{"metaflow-azure:monitoring": `{"alertEmails":["ops@example.com"]}`}))
	if err != nil || len(s.Warnings()) != 0 {
		t.Errorf("the defaults in westeurope warn: %q, %v", s.Warnings(), err)
	}
}

// From the day a version leaves standard support, a new stack or a change to it is refused, but
// a stack that already runs it can still be updated (with a warning): refusing would block the
// fixes the runbook prescribes, an upgrade included, on a stack nobody changed.
func TestUnsupportedVersionsAreWarnedWhileDeployed(t *testing.T) {
	t.Parallel()
	afterK8s := time.Date(2027, time.June, 2, 0, 0, 0, 0, time.UTC) // 1.36's support ended on 2027-06-01
	LoadFor := func(project string, config map[string]string, today time.Time, d Deployed) (*Settings, error) {
		s, err := LoadForDeployment(project, config, today)
		if err != nil {
			return nil, err
		}
		return s, s.CheckSupport(d)
	}
	cfg := with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.36"}`})
	if _, err := LoadFor(Project, cfg, afterK8s, Deployed{}); !hasFieldError(err, "metaflow-azure:aks.kubernetesVersion", "left AKS standard support") {
		t.Errorf("a new stack on an unsupported minor: %v", err)
	}
	if _, err := LoadFor(Project, cfg, afterK8s, Deployed{KubernetesMinor: 35}); !hasFieldError(err, "metaflow-azure:aks.kubernetesVersion", "left AKS standard support") {
		t.Errorf("an upgrade to an unsupported minor: %v", err)
	}
	s, err := LoadFor(Project, cfg, afterK8s, Deployed{KubernetesMinor: 36})
	if err != nil {
		t.Fatalf("the deployed minor must not block the update: %v", err)
	}
	if !slices.ContainsFunc(s.Warnings(), func(w string) bool {
		return strings.HasPrefix(w, "aks.kubernetesVersion:") && strings.Contains(w, "still runs it")
	}) {
		t.Errorf("no warning about the unsupported deployed minor: %q", s.Warnings())
	}

	afterPG := time.Date(2026, time.December, 12, 0, 0, 0, 0, time.UTC) // 14's ended on 2026-12-11
	pg := with(map[string]string{"metaflow-azure:postgres": `{"version":"14"}`})
	if _, err := LoadFor(Project, pg, afterPG, Deployed{PostgresMajor: 16}); !hasFieldError(err, "metaflow-azure:postgres.version", "left Azure standard support") {
		t.Errorf("a change to an unsupported major: %v", err)
	}
	if s, err := LoadFor(Project, pg, afterPG, Deployed{PostgresMajor: 14}); err != nil || !slices.ContainsFunc(s.Warnings(), func(w string) bool { return strings.Contains(w, "still runs it") }) {
		t.Errorf("the deployed major must warn, not refuse: %v %v", s, err)
	}
}

func TestChartRepositories(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://argoproj.github.io/argo-helm", "https://charts.example.com/mirror/argo/", "oci://registry.example.com/helm/argo", "oci://acmeacr.azurecr.io/charts"} {
		if _, err := load(with(map[string]string{"metaflow-azure:argo": `{"chartRepository":"` + ok + `"}`})); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for repo, want := range map[string]string{
		"http://charts.example.com":           "must be an HTTPS Helm repository",
		"charts.example.com":                  "must be an HTTPS Helm repository",
		"https://":                            "must be an HTTPS Helm repository",
		"https://user:pw@charts.example.com":  "has credentials in it",
		"https://charts.example.com/?token=1": "without a query or fragment",
	} {
		_, err := load(with(map[string]string{"metaflow-azure:argoEvents": `{"chartRepository":"` + repo + `"}`}))
		if !hasFieldError(err, "metaflow-azure:argoEvents.chartRepository", want) {
			t.Errorf("%s: %v, want %q", repo, err, want)
		}
	}
}
