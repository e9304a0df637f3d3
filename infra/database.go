package infra

import (
	"fmt"
	"strings"

	dbforpostgresql "github.com/pulumi/pulumi-azure-native-sdk/dbforpostgresql/v2/v20240801"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// PostgresPort is the port Flexible Server listens on.
const PostgresPort = 5432

// passwordSpecials are the special characters the admin password may contain: URL-unreserved,
// so the password survives being put into a DSN, and enough for Azure's complexity rule.
const passwordSpecials = "-_.~"

// DatabaseArgs configures the metadata database.
type DatabaseArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string

	ServerName   string
	DatabaseName string
	AdminLogin   string
	// Version is the PostgreSQL major version.
	Version string
	// SKU is "<tier>_<size>" (B_, GP_ or MO_ prefix), as the Azure CLI writes it.
	SKU                 string
	StorageGB           int
	BackupRetentionDays int
	HighAvailability    bool
	GeoRedundantBackup  bool

	// DelegatedSubnetID and PrivateDNSZoneID give the server private access only.
	DelegatedSubnetID pulumi.StringInput
	PrivateDNSZoneID  pulumi.StringInput
	// DNSLink must exist before the server: Azure resolves the server through it.
	DNSLink pulumi.Resource

	ProtectData bool

	// MaintenanceWindow, when set, is the server's custom maintenance window (UTC): Azure then
	// patches it in that slot rather than whenever it likes.
	MaintenanceWindow *MaintenanceWindow
}

// Database is a PostgreSQL Flexible Server reachable only inside the VNet, with TLS required, a
// generated admin password and the metaflow database.
type Database struct {
	pulumi.ResourceState

	ServerName    pulumi.StringOutput
	Host          pulumi.StringOutput
	Port          int
	DatabaseName  pulumi.StringOutput
	AdminLogin    string
	AdminPassword pulumi.StringOutput // secret
	// ServerID is the server's ARM ID: the scope of its alerts, diagnostics and delete lock.
	ServerID pulumi.IDOutput
	// Ready is the last resource that must exist before clients connect (the database itself,
	// after the server's TLS settings).
	Ready pulumi.Resource
}

var pgTiers = map[string]string{"B": "Burstable", "GP": "GeneralPurpose", "MO": "MemoryOptimized"}

// ParsePostgresSKU splits "GP_Standard_D2ds_v5" into Azure's SKU name and tier.
func ParsePostgresSKU(sku string) (name, tier string, err error) {
	prefix, rest, ok := strings.Cut(sku, "_")
	if tier, known := pgTiers[prefix]; ok && known && rest != "" {
		return rest, tier, nil
	}
	return "", "", fmt.Errorf("postgres SKU %q must start with B_, GP_ or MO_", sku)
}

// NewDatabase declares the server, its TLS settings and the database.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	if args == nil {
		return nil, errNilArgs("Database")
	}
	if err := requireStrings("Database", map[string]string{
		"Location": args.Location, "ServerName": args.ServerName, "DatabaseName": args.DatabaseName,
		"AdminLogin": args.AdminLogin, "Version": args.Version,
	}); err != nil {
		return nil, err
	}
	skuName, skuTier, err := ParsePostgresSKU(args.SKU)
	if err != nil {
		return nil, fmt.Errorf("internal-error: Database: %w", err)
	}
	if args.DNSLink == nil {
		return nil, fmt.Errorf("internal-error: Database: DNSLink is required")
	}
	c := &Database{Port: PostgresPort, AdminLogin: args.AdminLogin}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Database", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// Azure's rule: 8–128 characters from at least three of upper, lower, digits and symbols,
	// not containing all or part of the login (three or more consecutive alphanumeric
	// characters of it). 32 random characters with two of each class meet the first part;
	// BreakAlphanumericRuns makes the second hold for any login (see there).
	password, err := random.NewRandomPassword(ctx, name+"-admin-password", &random.RandomPasswordArgs{
		Length:          pulumi.Int(32),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String(passwordSpecials),
		MinUpper:        pulumi.Int(2),
		MinLower:        pulumi.Int(2),
		MinNumeric:      pulumi.Int(2),
		MinSpecial:      pulumi.Int(2),
	}, parent)
	if err != nil {
		return nil, err
	}
	adminPassword := password.Result.ApplyT(BreakAlphanumericRuns).(pulumi.StringOutput)

	geo, ha := "Disabled", "Disabled"
	if args.GeoRedundantBackup {
		geo = "Enabled"
	}
	if args.HighAvailability {
		ha = "ZoneRedundant"
	}
	server, err := dbforpostgresql.NewServer(ctx, name+"-server", &dbforpostgresql.ServerArgs{
		ServerName:                 pulumi.String(args.ServerName),
		ResourceGroupName:          args.ResourceGroupName,
		Location:                   pulumi.String(args.Location),
		Version:                    pulumi.String(args.Version),
		Sku:                        &dbforpostgresql.SkuArgs{Name: pulumi.String(skuName), Tier: pulumi.String(skuTier)},
		Storage:                    &dbforpostgresql.StorageArgs{StorageSizeGB: pulumi.Int(args.StorageGB)},
		AdministratorLogin:         pulumi.String(args.AdminLogin),
		AdministratorLoginPassword: pulumi.ToSecret(adminPassword).(pulumi.StringOutput),
		AuthConfig: &dbforpostgresql.AuthConfigArgs{
			PasswordAuth:        pulumi.String("Enabled"),
			ActiveDirectoryAuth: pulumi.String("Disabled"),
		},
		Backup: &dbforpostgresql.BackupTypeArgs{
			BackupRetentionDays: pulumi.Int(args.BackupRetentionDays),
			GeoRedundantBackup:  pulumi.String(geo),
		},
		HighAvailability: &dbforpostgresql.HighAvailabilityArgs{Mode: pulumi.String(ha)},
		Network: &dbforpostgresql.NetworkArgs{
			DelegatedSubnetResourceId:   args.DelegatedSubnetID,
			PrivateDnsZoneArmResourceId: args.PrivateDNSZoneID,
		},
		MaintenanceWindow: postgresMaintenance(args.MaintenanceWindow),
		Tags:              pulumi.ToStringMap(args.Tags),
	}, append(dataProtection(args.ProtectData), parent,
		pulumi.DependsOn([]pulumi.Resource{args.DNSLink}),
		pulumi.AdditionalSecretOutputs([]string{"administratorLoginPassword"}),
		// Azure picks the zones; a later failover swaps them, which must not read as drift.
		pulumi.IgnoreChanges([]string{"availabilityZone", "highAvailability.standbyAvailabilityZone"}),
	)...)
	if err != nil {
		return nil, err
	}

	// TLS is required and at least 1.2. Azure applies one parameter change at a time per
	// server, so the second waits for the first.
	var previous pulumi.Resource = server
	for _, p := range []struct{ param, value string }{
		{"require_secure_transport", "on"},
		{"ssl_min_protocol_version", "TLSv1.2"},
	} {
		cfg, err := dbforpostgresql.NewConfiguration(ctx, name+"-"+strings.ReplaceAll(p.param, "_", "-"), &dbforpostgresql.ConfigurationArgs{
			ConfigurationName: pulumi.String(p.param),
			ResourceGroupName: args.ResourceGroupName,
			ServerName:        server.Name,
			Value:             pulumi.String(p.value),
			Source:            pulumi.String("user-override"),
		}, parent, pulumi.DependsOn([]pulumi.Resource{previous}))
		if err != nil {
			return nil, err
		}
		previous = cfg
	}
	db, err := dbforpostgresql.NewDatabase(ctx, name+"-metaflow", &dbforpostgresql.DatabaseArgs{
		DatabaseName:      pulumi.String(args.DatabaseName),
		ResourceGroupName: args.ResourceGroupName,
		ServerName:        server.Name,
		Charset:           pulumi.String("UTF8"),
		Collation:         pulumi.String("en_US.utf8"),
	}, parent, pulumi.DependsOn([]pulumi.Resource{previous}))
	if err != nil {
		return nil, err
	}

	c.ServerName = server.Name
	c.ServerID = server.ID()
	c.Host = server.FullyQualifiedDomainName
	c.DatabaseName = db.Name
	c.AdminPassword = pulumi.ToSecret(adminPassword).(pulumi.StringOutput)
	c.Ready = db
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"serverName":    c.ServerName,
		"host":          c.Host,
		"databaseName":  c.DatabaseName,
		"adminLogin":    pulumi.String(c.AdminLogin),
		"adminPassword": c.AdminPassword,
	})
}

// BreakAlphanumericRuns puts a separator after every second alphanumeric character in a row,
// so the password has no run of three alphanumeric characters and so cannot contain "part of
// the login name", which Azure defines as three or more consecutive alphanumeric characters of
// it. A random password would otherwise contain a three-character piece of the login now and
// then (0.1–0.7 % of them for this stack's login) and the server create would be refused. The
// separator is URL-unreserved, like the password's other specials, so DSNs stay valid.
func BreakAlphanumericRuns(password string) string {
	var b strings.Builder
	run := 0
	for _, r := range password {
		alnum := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if alnum && run == 2 {
			b.WriteByte(passwordSeparator)
			run = 0
		}
		b.WriteRune(r)
		if alnum {
			run++
		} else {
			run = 0
		}
	}
	return b.String()
}

// passwordSeparator is one of passwordSpecials.
const passwordSeparator = '.'

// postgresMaintenance is PostgreSQL's custom maintenance window for a weekly window; nil (the
// system-managed window) without one. dayOfWeek numbers the days from Sunday = 0 (azurefacts).
func postgresMaintenance(w *MaintenanceWindow) dbforpostgresql.MaintenanceWindowPtrInput {
	if w == nil {
		return nil
	}
	day, _ := azurefacts.WeekdayNumber(w.DayOfWeek)
	return &dbforpostgresql.MaintenanceWindowArgs{
		CustomWindow: pulumi.String("Enabled"),
		DayOfWeek:    pulumi.Int(day),
		StartHour:    pulumi.Int(w.StartHour),
		StartMinute:  pulumi.Int(0),
	}
}
