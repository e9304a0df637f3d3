package services

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/images"
	"metaflow-azure/internal/metaflowconfig"
)

// Names and ports of the Metaflow services. The Metaflow config is derived from these same
// values, so they cannot drift apart.
const (
	MetadataServiceName = "metadata-service"
	MetadataPort        = images.MetadataPort
	UIBackendName       = "metaflow-ui-backend"
	UIBackendPort       = images.UIBackendPort
	UIStaticName        = "metaflow-ui"
	UIStaticPort        = images.UIPort
	// uiBackendPathPrefix is where the UI backend serves (PATH_PREFIX).
	uiBackendPathPrefix = "/api"
	DatabaseSecretName  = "metaflow-db"
	// ServicesAccountName is the ServiceAccount the metadata service, the migrations and the UI
	// run as; none of them reaches Azure.
	ServicesAccountName = "metaflow-services"
	// UIBackendAccountName is the UI backend's own ServiceAccount: the only service that reads
	// the datastore, so the only one federated to an Azure identity.
	UIBackendAccountName = UIBackendName
	databasePasswordKey  = "password"
)

// Database is how the services reach PostgreSQL.
type Database struct {
	Host     pulumi.StringInput
	Port     int
	Name     pulumi.StringInput
	User     string
	Password pulumi.StringInput // secret
	// Ready is the resource after which the database accepts connections; the migrations and
	// services wait for it and for nothing else on the Azure side.
	Ready pulumi.Resource
}

// MetaflowArgs configures the Metaflow services.
type MetaflowArgs struct {
	// Namespace is created for the services; its contents depend on it.
	Namespace string
	// MetadataImage runs the metadata service, migrations and UI backend.
	MetadataImage string
	UIImage       string
	Replicas      int
	// DBPoolMax caps every connection pool of every service process (package dbpool sizes it
	// so that all pods fit the server's connection limit).
	DBPoolMax int
	Database  Database
	// UIBackendAzure is how the UI backend reads artifacts from the datastore.
	UIBackendAzure AzureAccess
	// BlobEndpoint and DatastoreRoot ("<container>/<prefix>") locate the datastore.
	BlobEndpoint  pulumi.StringInput
	DatastoreRoot pulumi.StringInput
}

// Metaflow is the metadata service (after its migrations), the UI backend and the UI.
type Metaflow struct {
	pulumi.ResourceState

	// Metadata, UIBackend and UI are how users and tasks reach the services.
	Metadata  metaflowconfig.Endpoint
	UIBackend metaflowconfig.Endpoint
	UI        metaflowconfig.Endpoint
	// NamespaceResource is the services' namespace.
	NamespaceResource *corev1.Namespace
}

// MigrationJobName names the migration Job after the image, so a new image is a new Job that
// runs to completion before the Deployments roll out.
func MigrationJobName(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "metaflow-db-migrations-" + hex.EncodeToString(sum[:])[:8]
}

// NewMetaflow declares the Metaflow services.
func NewMetaflow(ctx *pulumi.Context, name string, args *MetaflowArgs, opts ...pulumi.ResourceOption) (*Metaflow, error) {
	if args == nil || args.Database.Ready == nil || args.DBPoolMax < 1 {
		return nil, fmt.Errorf("internal-error: Metaflow: args, Database.Ready and a DBPoolMax of at least 1 are required")
	}
	if err := requireNonEmpty("Metaflow", map[string]string{
		"Namespace":     args.Namespace,
		"MetadataImage": args.MetadataImage, "UIImage": args.UIImage,
		"Database.User": args.Database.User,
	}); err != nil {
		return nil, err
	}
	if err := args.UIBackendAzure.validate("Metaflow"); err != nil {
		return nil, err
	}
	c := &Metaflow{}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:Metaflow", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	namespace, err := NewNamespace(ctx, name+"-namespace", args.Namespace, servicesPodSecurity, parent)
	if err != nil {
		return nil, err
	}
	ns := namespaceName(namespace)
	c.NamespaceResource = namespace

	account, err := corev1.NewServiceAccount(ctx, name+"-service-account", &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(ServicesAccountName), Namespace: ns,
			Labels: pulumi.ToStringMap(labels(ServicesAccountName, "metadata")),
		},
		// The services never call the Kubernetes API.
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	sa := account.Metadata.Name().Elem()
	dbSecret, err := corev1.NewSecret(ctx, name+"-db", &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(DatabaseSecretName), Namespace: ns,
			Labels: pulumi.ToStringMap(labels(DatabaseSecretName, "database")),
		},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(pulumi.StringMap{databasePasswordKey: args.Database.Password}).(pulumi.StringMapOutput),
	}, parent, pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
	if err != nil {
		return nil, err
	}
	// The UI backend's own account: federated to the UI identity, and it never calls the
	// Kubernetes API either (the workload identity token is a projected volume of its own).
	backendAccount, err := corev1.NewServiceAccount(ctx, name+"-ui-backend-account", &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(UIBackendAccountName), Namespace: ns,
			Labels:      pulumi.ToStringMap(labels(UIBackendAccountName, "ui-backend")),
			Annotations: args.UIBackendAzure.serviceAccountAnnotations(),
		},
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	backendAfter := []pulumi.Resource{dbSecret, backendAccount}
	var backendEnvFrom corev1.EnvFromSourceArray
	if !args.UIBackendAzure.Federated() {
		credentials, err := newAzureCredentialsSecret(ctx, name+"-azure-credentials", ns, CredentialsSecretName, *args.UIBackendAzure.Credentials, parent)
		if err != nil {
			return nil, err
		}
		backendAfter = append(backendAfter, credentials)
		backendEnvFrom = corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{
			SecretRef: &corev1.SecretEnvSourceArgs{Name: pulumi.String(CredentialsSecretName)},
		}}
	}
	// The service reads MF_METADATA_DB_PSWD from the Secret, never from a literal, and speaks
	// TLS to PostgreSQL (MF_METADATA_DB_SSL_MODE needs image v2.4.4 or newer). Every pool opens
	// one connection up front and at most DBPoolMax.
	dbEnv := corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("MF_METADATA_DB_HOST"), Value: args.Database.Host},
		&corev1.EnvVarArgs{Name: pulumi.String("MF_METADATA_DB_PORT"), Value: pulumi.String(strconv.Itoa(args.Database.Port))},
		&corev1.EnvVarArgs{Name: pulumi.String("MF_METADATA_DB_NAME"), Value: args.Database.Name},
		&corev1.EnvVarArgs{Name: pulumi.String("MF_METADATA_DB_USER"), Value: pulumi.String(args.Database.User)},
		&corev1.EnvVarArgs{Name: pulumi.String(images.DBSSLModeEnv), Value: pulumi.String("require")},
		&corev1.EnvVarArgs{Name: pulumi.String(images.DBPoolMinEnv), Value: pulumi.String("1")},
		&corev1.EnvVarArgs{Name: pulumi.String(images.DBPoolMaxEnv), Value: pulumi.String(strconv.Itoa(args.DBPoolMax))},
		secretEnv("MF_METADATA_DB_PSWD", DatabaseSecretName, databasePasswordKey),
	}
	afterDB := pulumi.DependsOn([]pulumi.Resource{args.Database.Ready, dbSecret, account})

	migrations, err := batchv1.NewJob(ctx, name+"-migrations", &batchv1.JobArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(MigrationJobName(args.MetadataImage)), Namespace: ns,
			Labels: pulumi.ToStringMap(labels("metaflow-db-migrations", "migrations")),
		},
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(6),
			ActiveDeadlineSeconds: pulumi.Int(900),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels("metaflow-db-migrations", "migrations"))},
				Spec: &corev1.PodSpecArgs{
					RestartPolicy:                pulumi.String("OnFailure"),
					ServiceAccountName:           sa,
					SecurityContext:              podSecurity(),
					AutomountServiceAccountToken: pulumi.Bool(false),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String("migrations"),
						Image:           pulumi.String(args.MetadataImage),
						ImagePullPolicy: pulumi.String("IfNotPresent"),
						Command:         pulumi.ToStringArray(stopOnTerm("TERM", images.MetadataPython, images.MigrationScript)),
						Env:             dbEnv,
						// A run of goose against the database: a limit only slows it down.
						Resources:       resources{cpu: "100m", cpuLimit: "500m", memory: "256Mi", memoryLimit: "512Mi"}.args(),
						SecurityContext: containerSecurity(),
					}},
				},
			},
		},
	}, parent, afterDB)
	if err != nil {
		return nil, err
	}

	if _, err := newWebWorkload(ctx, webWorkload{
		name: MetadataServiceName, component: "metadata", namespace: ns,
		image: args.MetadataImage,
		// Without a handler, SIGTERM's default action stops the service once it is not PID 1.
		command: stopOnTerm("TERM", images.MetadataPython, "-m", images.MetadataServerModule),
		port:    MetadataPort, probePath: images.PingPath, livenessDelay: 30,
		replicas: args.Replicas, serviceAccount: ServicesAccountName,
		env:   dbEnv,
		after: []pulumi.Resource{migrations, dbSecret, account},
		// One asyncio process (package images): it cannot use more than one CPU, so a limit of
		// one throttles nothing it could use.
		resources: resources{cpu: "250m", cpuLimit: "1", memory: "512Mi", memoryLimit: "1Gi"},
	}, parent); err != nil {
		return nil, err
	}

	c.Metadata = metaflowconfig.Endpoint{Name: "metadata", Namespace: args.Namespace, Service: MetadataServiceName, Port: MetadataPort, LocalPort: MetadataPort, Scheme: "http", Path: "/"}
	c.UIBackend = metaflowconfig.Endpoint{Name: "ui-backend", Namespace: args.Namespace, Service: UIBackendName, Port: UIBackendPort, LocalPort: UIBackendPort, Scheme: "http", Path: uiBackendPathPrefix + "/"}
	c.UI = metaflowconfig.Endpoint{Name: "ui", Namespace: args.Namespace, Service: UIStaticName, Port: UIStaticPort, LocalPort: UIStaticPort, Scheme: "http", Path: "/"}

	backendEnv := append(corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("UI_ENABLED"), Value: pulumi.String("1")},
		&corev1.EnvVarArgs{Name: pulumi.String("PATH_PREFIX"), Value: pulumi.String(uiBackendPathPrefix)},
		// The Metaflow client inside the backend reads the datastore from these.
		&corev1.EnvVarArgs{Name: pulumi.String("METAFLOW_DATASTORE_SYSROOT_AZURE"), Value: args.DatastoreRoot},
		&corev1.EnvVarArgs{Name: pulumi.String("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"), Value: args.BlobEndpoint},
		&corev1.EnvVarArgs{Name: pulumi.String("METAFLOW_DEFAULT_DATASTORE"), Value: pulumi.String("azure")},
		&corev1.EnvVarArgs{Name: pulumi.String("METAFLOW_DEFAULT_METADATA"), Value: pulumi.String("service")},
		// The browser calls the backend from the UI's origin; allow exactly that origin.
		&corev1.EnvVarArgs{Name: pulumi.String("ORIGIN_TO_ALLOW_CORS_FROM"), Value: pulumi.String(fmt.Sprintf("http://localhost:%d", UIStaticPort))},
		// Its temporary artifact downloads go to the writable /tmp, not the read-only WORKDIR.
		&corev1.EnvVarArgs{Name: pulumi.String(images.UIBackendArtifactTempEnv), Value: pulumi.String(images.UIBackendArtifactTempDir)},
	}, dbEnv...)
	backendEnv = append(backendEnv, plainEnv("METAFLOW_SERVICE_URL", c.Metadata.InternalURL())...)
	if _, err := newWebWorkload(ctx, webWorkload{
		name: UIBackendName, component: "ui-backend", namespace: ns,
		image: args.MetadataImage,
		// It handles SIGTERM (and SIGINT) by logging it; it keeps no state worth a graceful stop.
		command: stopOnTerm("KILL", images.MetadataPython, "-m", images.UIBackendModule),
		port:    UIBackendPort, probePath: uiBackendPathPrefix + images.PingPath, livenessDelay: 60,
		replicas: args.Replicas, serviceAccount: UIBackendAccountName,
		podLabels: args.UIBackendAzure.PodLabels(), podAnnotations: args.UIBackendAzure.podAnnotations(),
		env:      backendEnv,
		envFrom:  backendEnvFrom,
		after:    append(backendAfter, migrations),
		writable: images.UIBackendWritablePaths,
		// Its cache server runs worker processes that load artifacts; two CPUs serve a team's
		// UI while leaving the system pool's nodes (4 vCPUs by default) to the rest.
		resources: resources{cpu: "250m", cpuLimit: "2", memory: "1Gi", memoryLimit: "2Gi"},
	}, parent); err != nil {
		return nil, err
	}
	// The UI is static files; METAFLOW_SERVICE is the backend URL as the *browser* reaches it,
	// which today is the port-forward. An ingress would change this one value.
	if _, err := newWebWorkload(ctx, webWorkload{
		name: UIStaticName, component: "ui", namespace: ns,
		image: args.UIImage,
		port:  UIStaticPort, probePath: images.UIProbePath, livenessDelay: 10,
		replicas: args.Replicas, serviceAccount: ServicesAccountName,
		// nginx's root master chowns its temp directories to its worker user and switches to
		// it; nothing else. Its STOPSIGNAL (SIGQUIT) and SIGTERM both stop it promptly.
		capabilities: images.UICapabilities,
		writable:     images.UIWritablePaths,
		env:          plainEnv(images.UIServiceEnv, c.UIBackend.LocalURL()),
		after:        []pulumi.Resource{account},
		// Static files for a team's browsers.
		resources: resources{cpu: "50m", cpuLimit: "250m", memory: "128Mi", memoryLimit: "256Mi"},
	}, parent); err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"metadataService": pulumi.String(MetadataServiceName),
		"uiBackend":       pulumi.String(UIBackendName),
		"ui":              pulumi.String(UIStaticName),
		"migrationJob":    pulumi.String(MigrationJobName(args.MetadataImage)),
	})
}
