package settings

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/dbpool"
)

// Limits taken from Azure's documentation; messages are built from these constants so they
// cannot drift from the checks.
const (
	namePrefixMinLen  = 2
	namePrefixMaxLen  = 8
	maxUserTags       = 48 // Azure allows 50; the stack adds environment and managed-by.
	tagNameMaxLen     = 512
	tagValueMaxLen    = 256
	maxPoolNodes      = azurefacts.MaxNodesPerPool
	azureReservedIPs  = 5 // Azure keeps 5 addresses of every subnet.
	minPostgresSubnet = 28
	// maxPostgresAPIMajor is the newest server version the API version the stack sends
	// PostgreSQL with (2024-08-01) lists in its ServerVersion enum (11–16; 17 arrives with
	// 2024-11-01-preview), per the azure-native v20240801 SDK and the REST API spec.
	maxPostgresAPIMajor = 16
	// minPrivateEndpointSubnet: a /29 leaves 3 addresses after the 5 Azure keeps.
	minPrivateEndpointSubnet = 29
	// minServiceBits: the cluster DNS service takes the tenth address of the service range.
	minServiceBits     = 28
	minBackupDays      = 7
	maxBackupDays      = 35
	minSoftDeleteDays  = 1
	maxSoftDeleteDays  = 365
	maxSecretDays      = 730
	minReplicas        = 2
	maxReplicas        = 10
	maxAuthorizedRange = 200
	// Log Analytics keeps Analytics tables 30 days by default and up to two years
	// (azurefacts.LogAnalyticsRetention*).
	maxDailyCapGB  = 1000
	maxAlertEmails = 1000
)

var (
	namePrefixRe  = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	k8sVersionRe  = regexp.MustCompile(`^1\.(\d+)(\.\d+)?$`)
	vmSizeRe      = regexp.MustCompile(`^Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)
	pgSKURe       = regexp.MustCompile(`^(B|GP|MO)_Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)
	guidRe        = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	semverRe      = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	dnsLabelRe    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	imageTagRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	imageDigestRe = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	tagNameBadRe  = regexp.MustCompile(`[<>%&\\?/]`)

	postgresStorageGB = []int{32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}
	replications      = []string{"LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"}
	skuTiers          = []string{"Free", "Standard"}
	principalTypes    = []string{"User", "Group"}
	argoAuthModes     = []string{"client", "server"}
	// Channels that keep the pinned minor; rapid and stable would move it.
	upgradeChannels = []string{"patch", "node-image", "none"}
	kubeLogins      = []string{"token", "azurecli", "workloadidentity", "spn", "msi"}
	upnRe           = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	reservedTags    = []string{"environment", "managed-by"}
	registrySKUs    = []string{"Basic", "Standard", "Premium"}
	// networkDataplanes: Azure CNI powered by Cilium, or Azure's own dataplane without a network
	// policy engine (what stacks deployed before Cilium run).
	networkDataplanes = []string{azurefacts.NetworkDataplaneCilium, azurefacts.NetworkDataplaneAzure}
	storageAccesses   = []string{StorageAccessPublic, StorageAccessAllowlist, StorageAccessPrivate}
	// An address as an action group's email receiver takes it: one @, a dot in the domain, no
	// spaces or display name.
	emailRe = regexp.MustCompile(`^[^@\s<>(),;:"]+@[^@\s<>(),;:"]+\.[^@\s<>(),;:"]+$`)
	// AKS refuses these for pod and service ranges.
	aksReservedRanges = []netip.Prefix{
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.30.0.0/16"),
		netip.MustParsePrefix("172.31.0.0/16"),
		netip.MustParsePrefix("192.0.2.0/24"),
	}
)

// problems collects field errors in the order the checks run, and warnings.
type problems struct {
	errs     []error
	warnings []string
	today    time.Time
	// ended are versions out of standard support, refused or warned about by CheckSupport.
	ended []supportEnded
}

// supportEnded is a version the settings ask for that has left standard support.
type supportEnded struct {
	path string
	// kubernetes minor or PostgreSQL major
	version int
	// refusal is the error for a stack that does not run it yet; warning for one that does.
	refusal, warning string
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) warn(path, format string, args ...any) {
	p.warnings = append(p.warnings, path+": "+fmt.Sprintf(format, args...))
}

func (s *Settings) validate(today time.Time) ([]error, []string, []supportEnded) {
	p := &problems{today: today}
	p.location(s.Location)
	p.namePrefix(s.NamePrefix)
	p.tags(s.Tags)
	p.network(s)
	p.aks(&s.AKS)
	p.postgres(&s.Postgres)
	p.storage(&s.Storage)
	p.storageNetwork(s)
	p.security(s)
	p.regionCapabilities(s)
	if d := s.Identity.SecretLifetimeDays; d < 1 || d > maxSecretDays {
		p.add("identity.secretLifetimeDays", "%d must be between 1 and %d days", d, maxSecretDays)
	}
	if s.Identity.SecretRotation != "" && !s.Identity.ClientSecret {
		p.add("identity.secretRotation", "rotates the client secret, which exists only with identity.clientSecret: true (the default, workload identity, has none)")
	}
	p.access(s)
	p.services(s)
	p.connections(s)
	p.monitoring(&s.Monitoring)
	p.maintenance(&s.Maintenance)
	return p.errs, p.warnings, p.ended
}

// connections refuses a replica count whose database connections cannot fit the SKU's limit,
// however small the pools (package dbpool has the arithmetic and Microsoft's table).
func (p *problems) connections(s *Settings) {
	r, sku := s.Metaflow.Replicas, s.Postgres.SKU
	if r < minReplicas || r > maxReplicas || !pgSKURe.MatchString(sku) {
		return // already reported
	}
	if _, ok := dbpool.MaxConnections(sku); !ok {
		p.add("postgres.sku", "%q is not in Microsoft's max_connections table (https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-limits), so the services' connection pools cannot be sized for it", sku)
		return
	}
	if _, err := dbpool.Size(r, sku); err != nil {
		p.add("metaflow.replicas", "%d does not fit postgres.sku %q: %v; lower metaflow.replicas or choose a larger postgres.sku", r, sku, err)
	}
}

func (p *problems) location(loc string) {
	switch {
	case loc == "":
		p.add("location", "is required: the Azure region to deploy to, e.g. westeurope (pulumi config set location westeurope)")
	case !slices.Contains(azurefacts.RegionNames(), loc):
		msg := fmt.Sprintf("%q is not an Azure region name (lowercase, no spaces, e.g. westeurope)", loc)
		if s := suggest(strings.ReplaceAll(strings.ToLower(loc), " ", ""), azurefacts.RegionNames()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		p.add("location", "%s", msg)
	}
}

func (p *problems) namePrefix(prefix string) {
	switch {
	case prefix == "":
		p.add("namePrefix", "is required: %d–%d lowercase letters or digits, starting with a letter, used in every Azure name", namePrefixMinLen, namePrefixMaxLen)
	case len(prefix) < namePrefixMinLen || len(prefix) > namePrefixMaxLen || !namePrefixRe.MatchString(prefix):
		p.add("namePrefix", "%q must be %d–%d lowercase letters or digits, starting with a letter (storage account names allow nothing else and only 24 characters)", prefix, namePrefixMinLen, namePrefixMaxLen)
	}
}

func (p *problems) tags(tags map[string]string) {
	if len(tags) > maxUserTags {
		p.add("tags", "has %d tags; Azure allows 50 per resource and the stack adds 2, so at most %d", len(tags), maxUserTags)
	}
	for _, k := range sortedStringKeys(tags) {
		path := "tags." + k
		switch {
		case slices.Contains(reservedTags, strings.ToLower(k)):
			p.add(path, "is set by the stack itself (%s); remove it", strings.Join(reservedTags, ", "))
		case len(k) > tagNameMaxLen || tagNameBadRe.MatchString(k):
			p.add(path, "tag names may have at most %d characters and none of < > %% & \\ ? /", tagNameMaxLen)
		}
		if len(tags[k]) > tagValueMaxLen {
			p.add(path, "value has %d characters; Azure allows at most %d", len(tags[k]), tagValueMaxLen)
		}
	}
}

func (p *problems) network(s *Settings) {
	n := s.Network
	vnet, okV := p.cidr("network.vnetCidr", n.VNetCIDR)
	aks, okA := p.cidr("network.aksSubnetCidr", n.AKSSubnetCIDR)
	pg, okP := p.cidr("network.postgresSubnetCidr", n.PostgresSubnetCIDR)
	pods, okPod := p.cidr("network.podCidr", n.PodCIDR)
	svc, okS := p.cidr("network.serviceCidr", n.ServiceCIDR)

	if okV {
		if okA && !contains(vnet, aks) {
			p.add("network.aksSubnetCidr", "%s must lie inside network.vnetCidr %s", aks, vnet)
		}
		if okP && !contains(vnet, pg) {
			p.add("network.postgresSubnetCidr", "%s must lie inside network.vnetCidr %s", pg, vnet)
		}
		if okPod && vnet.Overlaps(pods) {
			p.add("network.podCidr", "%s must not overlap network.vnetCidr %s (pods use an overlay range)", pods, vnet)
		}
		if okS && vnet.Overlaps(svc) {
			p.add("network.serviceCidr", "%s must not overlap network.vnetCidr %s", svc, vnet)
		}
	}
	if okA && okP && aks.Overlaps(pg) {
		p.add("network.postgresSubnetCidr", "%s overlaps network.aksSubnetCidr %s; the subnets must be disjoint", pg, aks)
	}
	if okPod && okS && pods.Overlaps(svc) {
		p.add("network.serviceCidr", "%s overlaps network.podCidr %s; they must be disjoint", svc, pods)
	}
	for _, r := range aksReservedRanges {
		if okPod && pods.Overlaps(r) {
			p.add("network.podCidr", "%s overlaps %s, which AKS reserves", pods, r)
		}
		if okS && svc.Overlaps(r) {
			p.add("network.serviceCidr", "%s overlaps %s, which AKS reserves", svc, r)
		}
	}
	if okP && pg.Bits() > minPostgresSubnet {
		p.add("network.postgresSubnetCidr", "%s is too small: PostgreSQL Flexible Server needs a delegated subnet of /%d or larger", pg, minPostgresSubnet)
	}
	if okS && svc.Bits() < 12 {
		p.add("network.serviceCidr", "%s is too large: AKS needs a service range of /12 or smaller", svc)
	}
	if okS && svc.Bits() > minServiceBits {
		p.add("network.serviceCidr", "%s is too small: the cluster DNS service takes the tenth address of the range, so use /%d or larger", svc, minServiceBits)
	}
	nodes, surge, breakdown := poolNodes(&s.AKS)
	if okA {
		// Azure CNI Overlay: one subnet address per node (pods take overlay addresses), one
		// surge node per pool during upgrades except Spot pools, which get none
		// (azurefacts.SpotUpgradeSurge), and 5 addresses kept by Azure.
		need := nodes + surge
		if have := addresses(aks) - azureReservedIPs; need > have {
			p.add("network.aksSubnetCidr", "%s has %d usable addresses but the pools may need %d (%s + %d upgrade surge nodes); use a larger subnet or fewer nodes",
				aks, have, need, breakdown, surge)
		}
	}
	if okPod {
		// Azure CNI Overlay gives every node a /24 out of the pod range.
		if pods.Bits() > 24 {
			p.add("network.podCidr", "%s is too small: Azure CNI Overlay gives each node a /24, so use /24 or larger", pods)
		} else if have := 1 << (24 - pods.Bits()); have < nodes+surge {
			p.add("network.podCidr", "%s holds /24 blocks for %d nodes but the pools may reach %d; use a larger range", pods, have, nodes+surge)
		}
	}
}

// poolNodes adds up every pool's maximum, the upgrade surge nodes (one per pool that gets one)
// and says how, for messages.
func poolNodes(a *AKS) (nodes, surge int, breakdown string) {
	parts := []string{
		fmt.Sprintf("aks.systemPool.maxCount %d", a.SystemPool.MaxCount),
		fmt.Sprintf("aks.taskPool.maxCount %d", a.TaskPool.MaxCount),
	}
	nodes, surge = a.SystemPool.MaxCount+a.TaskPool.MaxCount, 2
	for i, x := range a.ExtraPools {
		nodes += x.MaxCount
		parts = append(parts, fmt.Sprintf("aks.extraPools[%d].maxCount %d", i, x.MaxCount))
		if !x.Spot || azurefacts.SpotUpgradeSurge {
			surge++
		}
	}
	return nodes, surge, strings.Join(parts, " + ")
}

// cidr parses an IPv4 prefix and insists on its canonical form, so "10.0.0.1/16" is refused
// instead of being read as 10.0.0.0/16.
func (p *problems) cidr(path, value string) (netip.Prefix, bool) {
	pfx, err := netip.ParsePrefix(value)
	switch {
	case err != nil:
		p.add(path, "%q is not a CIDR block such as 10.40.0.0/16", value)
		return netip.Prefix{}, false
	case !pfx.Addr().Is4():
		p.add(path, "%q must be an IPv4 CIDR block", value)
		return netip.Prefix{}, false
	case pfx.Masked() != pfx:
		p.add(path, "%q has host bits set; did you mean %s?", value, pfx.Masked())
		return netip.Prefix{}, false
	}
	return pfx, true
}

func contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func addresses(p netip.Prefix) int { return 1 << (32 - p.Bits()) }

func (p *problems) aks(a *AKS) {
	channelOK := slices.Contains(upgradeChannels, a.UpgradeChannel)
	if !channelOK {
		p.add("aks.upgradeChannel", "%q must be one of %s (rapid and stable would move the cluster off the pinned minor)", a.UpgradeChannel, strings.Join(upgradeChannels, ", "))
	}
	if m := k8sVersionRe.FindStringSubmatch(a.KubernetesVersion); m == nil {
		p.add("aks.kubernetesVersion", "%q must be a Kubernetes version like 1.36 or 1.36.4 (quote it in YAML)", a.KubernetesVersion)
	} else {
		minor, _ := strconv.Atoi(m[1])
		switch st := azurefacts.KubernetesMinorStatus(minor, p.today); st.Support {
		case azurefacts.Unsupported:
			supported := strings.Join(azurefacts.SupportedKubernetesMinors(p.today), ", ")
			p.ended = append(p.ended, supportEnded{path: "aks.kubernetesVersion", version: minor,
				refusal: fmt.Sprintf("%q cannot be used: %s; use one of %s (%s)", a.KubernetesVersion, st.Why, supported, azurefacts.KubernetesCalendarURL),
				warning: fmt.Sprintf("%s, and the cluster still runs it: AKS no longer supports it; upgrade to one of %s (docs/operations.md, \"Upgrading Kubernetes\"; %s)",
					st.Why, supported, azurefacts.KubernetesCalendarURL)})
		case azurefacts.EndingSoon:
			p.warn("aks.kubernetesVersion", "%s; plan the upgrade to a newer minor (%s)", st.Why, strings.Join(azurefacts.SupportedKubernetesMinors(p.today), ", "))
		}
		if m[2] != "" && channelOK && a.UpgradeChannel == "patch" {
			p.add("aks.kubernetesVersion", "%q pins a patch, but aks.upgradeChannel is patch: AKS would apply newer patches and the next update would ask for a downgrade; pin the minor (%q) or set aks.upgradeChannel to node-image or none", a.KubernetesVersion, "1."+m[1])
		}
	}
	if !slices.Contains(kubeLogins, a.KubeLogin) {
		p.add("aks.kubeLogin", "%q must be one of %s", a.KubeLogin, strings.Join(kubeLogins, ", "))
	}
	if !slices.Contains(skuTiers, a.SKUTier) {
		p.add("aks.skuTier", "%q must be one of %s", a.SKUTier, strings.Join(skuTiers, ", "))
	}
	if len(a.AuthorizedIPRanges) > maxAuthorizedRange {
		p.add("aks.authorizedIpRanges", "has %d ranges; AKS allows at most %d", len(a.AuthorizedIPRanges), maxAuthorizedRange)
	}
	for i, r := range a.AuthorizedIPRanges {
		p.cidr(fmt.Sprintf("aks.authorizedIpRanges[%d]", i), r)
	}
	p.pool("aks.systemPool", a.SystemPool, 1)
	p.pool("aks.taskPool", a.TaskPool, 0)
	p.extraPools(a)
}

func (p *problems) pool(path string, np NodePool, minNodes int) {
	if !vmSizeRe.MatchString(np.VMSize) {
		p.add(path+".vmSize", "%q is not an Azure VM size such as Standard_D4ds_v5", np.VMSize)
	}
	if np.MinCount < minNodes || np.MinCount > maxPoolNodes {
		p.add(path+".minCount", "%d must be between %d and %d", np.MinCount, minNodes, maxPoolNodes)
	}
	if np.MaxCount < 1 || np.MaxCount > maxPoolNodes {
		p.add(path+".maxCount", "%d must be between 1 and %d", np.MaxCount, maxPoolNodes)
	}
	if np.MinCount > np.MaxCount {
		p.add(path+".minCount", "%d is larger than %s.maxCount %d; minCount must be at most maxCount", np.MinCount, path, np.MaxCount)
	}
}

func (p *problems) postgres(pg *Postgres) {
	if major, err := strconv.Atoi(pg.Version); err != nil {
		p.add("postgres.version", "%q must be a PostgreSQL major version such as 16", pg.Version)
	} else if st := azurefacts.PostgresMajorStatus(major, p.today); st.Support == azurefacts.Unsupported {
		p.ended = append(p.ended, supportEnded{path: "postgres.version", version: major,
			refusal: fmt.Sprintf("%q cannot be used: %s (%s); use 15 or 16", pg.Version, st.Why, azurefacts.PostgresCalendarURL),
			warning: fmt.Sprintf("%s, and the server still runs it: Azure no longer supports it; upgrade the major version (docs/operations.md, \"Upgrading PostgreSQL\"; %s)", st.Why, azurefacts.PostgresCalendarURL)})
	} else if major > maxPostgresAPIMajor {
		p.add("postgres.version", "%q is not offered by the API version the stack sends PostgreSQL with (2024-08-01 lists up to %d; %d arrives with 2024-11-01-preview, which is not generally available); use %d", pg.Version, maxPostgresAPIMajor, major, maxPostgresAPIMajor)
	} else if st.Support == azurefacts.EndingSoon {
		p.warn("postgres.version", "%s; upgrade the server's major version before then (docs/operations in the README)", st.Why)
	}
	if !pgSKURe.MatchString(pg.SKU) {
		p.add("postgres.sku", "%q must be <tier>_<size> with tier B (Burstable), GP (General Purpose) or MO (Memory Optimized), e.g. GP_Standard_D2ds_v5", pg.SKU)
	} else if pg.HighAvailability && strings.HasPrefix(pg.SKU, "B_") {
		p.add("postgres.highAvailability", "is not available on Burstable SKUs (postgres.sku %q); use a GP_ or MO_ SKU or turn it off", pg.SKU)
	}
	if !slices.Contains(postgresStorageGB, pg.StorageGB) {
		p.add("postgres.storageGb", "%d must be one of Azure's disk sizes: %s", pg.StorageGB, joinInts(postgresStorageGB))
	}
	if d := pg.BackupRetentionDays; d < minBackupDays || d > maxBackupDays {
		p.add("postgres.backupRetentionDays", "%d must be between %d and %d days", d, minBackupDays, maxBackupDays)
	}
}

func (p *problems) storage(st *Storage) {
	if !slices.Contains(replications, st.Replication) {
		p.add("storage.replication", "%q must be one of %s", st.Replication, strings.Join(replications, ", "))
	}
	if d := st.SoftDeleteDays; d < minSoftDeleteDays || d > maxSoftDeleteDays {
		p.add("storage.softDeleteDays", "%d must be between %d and %d days", d, minSoftDeleteDays, maxSoftDeleteDays)
	}
}

// regionCapabilities refuses options that need availability zones or a paired region where the
// region has none (azurefacts.RegionsURL); ARM would refuse them only at create time.
func (p *problems) regionCapabilities(s *Settings) {
	if !slices.Contains(azurefacts.RegionNames(), s.Location) {
		return // already reported
	}
	r, known := azurefacts.LookupRegion(s.Location)
	repl := s.Storage.Replication
	needsZones := repl == "ZRS" || repl == "GZRS" || repl == "RAGZRS"
	needsPair := repl == "GRS" || repl == "RAGRS" || repl == "GZRS" || repl == "RAGZRS"
	if !known {
		if needsZones || needsPair || s.Postgres.HighAvailability || s.Postgres.GeoRedundantBackup {
			p.warn("location", "%s is not in the stack's region table, so its availability zones and pair are not checked for storage.replication, postgres.highAvailability and postgres.geoRedundantBackup; confirm with az account list-locations", s.Location)
		}
		return
	}
	if needsZones && !r.Zones {
		p.add("storage.replication", "%s needs availability zones, which %s does not have; use LRS or GRS (%s)", repl, s.Location, azurefacts.RegionsURL)
	}
	if needsPair && r.Pair == "" {
		p.add("storage.replication", "%s copies to the paired region, and %s has none; use ZRS or LRS (%s)", repl, s.Location, azurefacts.RegionsURL)
	}
	if s.Postgres.HighAvailability && !r.PostgresZoneRedundantHA {
		p.add("postgres.highAvailability", "needs zone-redundant HA, which PostgreSQL flexible server does not offer in %s; choose a region with availability zones or turn it off", s.Location)
	}
	if s.Postgres.GeoRedundantBackup && !r.PostgresGeoBackup {
		p.add("postgres.geoRedundantBackup", "PostgreSQL flexible server offers geo-redundant backup only in regions with a two-way pair, and %s has none; turn it off (use a cross-region read replica instead)", s.Location)
	}
}

func (p *problems) access(s *Settings) {
	seen := map[string]bool{}
	for i, fr := range s.Access.FlowRunners {
		path := fmt.Sprintf("access.flowRunners[%d]", i)
		if !guidRe.MatchString(fr.ObjectID) {
			p.add(path+".objectId", "%q must be a Microsoft Entra object id (a GUID such as 00000000-0000-0000-0000-000000000000)", fr.ObjectID)
		} else if id := strings.ToLower(fr.ObjectID); seen[id] {
			p.add(path+".objectId", "%q is listed twice", fr.ObjectID)
		} else {
			seen[id] = true
		}
		switch {
		case !slices.Contains(principalTypes, fr.Type):
			p.add(path+".type", "%q must be one of %s", fr.Type, strings.Join(principalTypes, ", "))
		case fr.Type == "User" && !upnRe.MatchString(fr.UserPrincipalName):
			p.add(path+".userPrincipalName", "%q must be the user's sign-in name (user@contoso.com): AKS names Entra users to Kubernetes RBAC by user principal name", fr.UserPrincipalName)
		case fr.Type == "Group" && fr.UserPrincipalName != "":
			p.add(path+".userPrincipalName", "is only for users; AKS names Entra groups by object id, so remove it")
		}
	}
	if len(s.Access.FlowRunners) > 0 && !s.AKS.AzureRBAC {
		p.add("access.flowRunners", "needs aks.azureRbac: true, so that people sign in to the cluster as themselves and get namespace-scoped roles")
	}
}

func (p *problems) services(s *Settings) {
	p.image("metaflow.metadataImage", s.Metaflow.MetadataImage)
	p.image("metaflow.uiImage", s.Metaflow.UIImage)
	if s.Metaflow.TaskImage != "" {
		p.image("metaflow.taskImage", s.Metaflow.TaskImage)
	}
	if s.Registry.Enabled && !slices.Contains(registrySKUs, s.Registry.SKU) {
		p.add("registry.sku", "%q must be one of %s", s.Registry.SKU, strings.Join(registrySKUs, ", "))
	}
	if r := s.Metaflow.Replicas; r < minReplicas || r > maxReplicas {
		p.add("metaflow.replicas", "%d must be between %d and %d (two or more keep the services up while a node drains)", r, minReplicas, maxReplicas)
	}
	namespaces := []struct{ path, name string }{
		{"metaflow.namespace", s.Metaflow.Namespace},
		{"metaflow.taskNamespace", s.Metaflow.TaskNamespace},
	}
	if s.Argo.Enabled {
		namespaces = append(namespaces, struct{ path, name string }{"argo.namespace", s.Argo.Namespace})
		if !semverRe.MatchString(s.Argo.ChartVersion) {
			p.add("argo.chartVersion", "%q must be an exact chart version such as 0.47.5", s.Argo.ChartVersion)
		}
		p.chartRepository("argo.chartRepository", s.Argo.ChartRepository)
		if !slices.Contains(argoAuthModes, s.Argo.AuthMode) {
			p.add("argo.authMode", "%q must be one of %s", s.Argo.AuthMode, strings.Join(argoAuthModes, ", "))
		}
	}
	if s.ArgoEvents.Enabled {
		if !s.Argo.Enabled {
			p.add("argoEvents.enabled", "is true but argo.enabled is false: Argo Events sensors trigger Argo workflows; enable Argo or set argoEvents.enabled to false")
		}
		namespaces = append(namespaces, struct{ path, name string }{"argoEvents.namespace", s.ArgoEvents.Namespace})
		if !semverRe.MatchString(s.ArgoEvents.ChartVersion) {
			p.add("argoEvents.chartVersion", "%q must be an exact chart version such as 2.4.22", s.ArgoEvents.ChartVersion)
		}
		p.chartRepository("argoEvents.chartRepository", s.ArgoEvents.ChartRepository)
		if !semverRe.MatchString(s.ArgoEvents.JetStreamVersion) {
			p.add("argoEvents.jetstreamVersion", "%q must be an exact NATS version such as 2.10.10", s.ArgoEvents.JetStreamVersion)
		}
	}
	used := map[string]string{}
	for _, ns := range namespaces {
		switch {
		case !dnsLabelRe.MatchString(ns.name):
			p.add(ns.path, "%q must be a Kubernetes namespace name: up to 63 lowercase letters, digits and '-', starting and ending with a letter or digit", ns.name)
		case ns.name == "default" || strings.HasPrefix(ns.name, "kube-"):
			p.add(ns.path, "%q is reserved by Kubernetes; choose a namespace of the stack's own", ns.name)
		case used[ns.name] != "":
			p.add(ns.path, "%q is already used by %s; each namespace must be different", ns.name, used[ns.name])
		default:
			used[ns.name] = ns.path
		}
	}
}

// image insists on a pinned reference: a digest, or a tag other than latest.
// chartRepository accepts what the Kubernetes provider's Helm release can fetch a chart from and
// a team can trust: an HTTPS Helm repository or an OCI registry. No plain HTTP, and no
// credentials in the URL (they would sit in the state and the plan in clear).
func (p *problems) chartRepository(path, repo string) {
	u, err := url.Parse(repo)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "oci"):
		p.add(path, "%q must be an HTTPS Helm repository (https://host/path, which serves index.yaml) or an OCI registry (oci://host/path)", repo)
	case u.User != nil:
		p.add(path, "%q has credentials in it; a repository that needs them is not supported (they would be stored in clear)", repo)
	case u.RawQuery != "" || u.Fragment != "":
		p.add(path, "%q must be the repository's address without a query or fragment", repo)
	}
}

func (p *problems) image(path, ref string) {
	if imageDigestRe.MatchString(ref) {
		return
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if ref == "" || colon <= slash || colon == len(ref)-1 {
		p.add(path, "%q must be pinned: repository:tag or repository@sha256:<digest>", ref)
		return
	}
	if tag := ref[colon+1:]; tag == "latest" || !imageTagRe.MatchString(tag) {
		p.add(path, "%q must be pinned to a version tag or digest, not %q", ref, tag)
	}
}

func sortedStringKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}

func (p *problems) monitoring(m *Monitoring) {
	if !m.Enabled {
		return // nothing is declared, so nothing to check
	}
	lo, hi := azurefacts.LogAnalyticsRetentionMinDays, azurefacts.LogAnalyticsRetentionMaxDays
	if d := m.RetentionDays; d < lo || d > hi {
		p.add("monitoring.retentionDays", "%d must be between %d and %d days (%s)", d, lo, hi, azurefacts.LogAnalyticsRetentionSource)
	}
	if c := m.DailyCapGB; c < 0 || c > maxDailyCapGB {
		p.add("monitoring.dailyCapGb", "%d must be between 0 (no cap) and %d GB a day", c, maxDailyCapGB)
	}
	if b := m.MonthlyBudget; b < 0 {
		p.add("monitoring.monthlyBudget", "%d must be 0 (no budget) or a positive amount in the subscription's billing currency, such as 500", b)
	}
	switch {
	case len(m.AlertEmails) == 0 && m.MonthlyBudget > 0:
		// A budget nobody hears from is no budget: it goes to the same receivers as the alerts.
		p.warn("monitoring.alertEmails", "is empty, so no action group, no alerts and no budget (monitoring.monthlyBudget) are declared (logs and metrics still reach the workspace); add an address: pulumi config set --path 'monitoring.alertEmails[0]' ops@example.com")
	case len(m.AlertEmails) == 0:
		// Logs still flow; alerts nobody receives are no alerts, so none are declared.
		p.warn("monitoring.alertEmails", "is empty, so no action group and no alerts are declared (logs and metrics still reach the workspace); add an address: pulumi config set --path 'monitoring.alertEmails[0]' ops@example.com")
	case len(m.AlertEmails) > maxAlertEmails:
		p.add("monitoring.alertEmails", "has %d addresses; an action group takes at most %d", len(m.AlertEmails), maxAlertEmails)
	}
	seen := map[string]bool{}
	for i, e := range m.AlertEmails {
		path := fmt.Sprintf("monitoring.alertEmails[%d]", i)
		switch {
		case !emailRe.MatchString(e):
			p.add(path, "%q is not an email address such as ops@example.com", e)
		case seen[strings.ToLower(e)]:
			p.add(path, "%q is listed twice", e)
		default:
			seen[strings.ToLower(e)] = true
		}
	}
}

func (p *problems) maintenance(m *Maintenance) {
	w := m.Window
	if _, ok := azurefacts.WeekdayNumber(w.DayOfWeek); !ok {
		p.add("maintenance.window.dayOfWeek", "%q must be one of %s", w.DayOfWeek, strings.Join(azurefacts.Weekdays(), ", "))
	}
	if w.StartHour < 0 || w.StartHour > 23 {
		p.add("maintenance.window.startHour", "%d must be an hour of the day (UTC), 0–23", w.StartHour)
	}
	if lo := azurefacts.AKSMaintenanceMinHours; w.DurationHours < lo || w.DurationHours > 24 {
		p.add("maintenance.window.durationHours", "%d must be between %d (AKS's minimum for auto-upgrade windows) and 24 hours", w.DurationHours, lo)
	}
	if !slices.Contains(azurefacts.KeepPatchedNodeOSChannels, m.NodeOSChannel) {
		p.add("maintenance.nodeOsChannel", "%q must be one of %s (the channels that keep nodes patched)", m.NodeOSChannel, strings.Join(azurefacts.KeepPatchedNodeOSChannels, ", "))
	}
}
