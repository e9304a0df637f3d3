package services

import (
	"strings"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/metaflowconfig"
)

// ArgoHelmRepository is the official Argo chart repository.
const ArgoHelmRepository = "https://argoproj.github.io/argo-helm"

// Argo Workflows release facts the rest of the stack refers to. fullnameOverride pins the
// chart's object names, so they do not depend on the release name.
const (
	ArgoReleaseName          = "argo-workflows"
	ArgoServerServiceAccount = ArgoReleaseName + "-server"
	ArgoServerService        = ArgoReleaseName + "-server"
	ArgoServerPort           = 2746
)

// ArgoArgs configures Argo Workflows.
type ArgoArgs struct {
	// Namespace is created for the controller and server.
	Namespace    string
	ChartVersion string
	// AuthMode is the server's --auth-mode: client or server.
	AuthMode string
	// Tasks is where workflows run: the controller watches it and workflows default to its
	// ServiceAccount.
	Tasks *Tasks
	// BlobEndpoint and Container make the default artifact repository Azure Blob.
	BlobEndpoint pulumi.StringInput
	Container    pulumi.StringInput
}

// Argo is Argo Workflows from the official chart, with no demo components.
type Argo struct {
	pulumi.ResourceState

	Release *helmv3.Release
	// Server is the Argo UI/API, reached by port-forward.
	Server metaflowconfig.Endpoint
}

// NewArgo declares the namespace and the Helm release.
func NewArgo(ctx *pulumi.Context, name string, args *ArgoArgs, opts ...pulumi.ResourceOption) (*Argo, error) {
	if args == nil || args.Tasks == nil {
		return nil, errNilArgs("Argo")
	}
	if err := requireNonEmpty("Argo", map[string]string{
		"Namespace": args.Namespace, "ChartVersion": args.ChartVersion, "AuthMode": args.AuthMode,
	}); err != nil {
		return nil, err
	}
	c := &Argo{Server: metaflowconfig.Endpoint{
		Name: "argo", Namespace: args.Namespace, Service: ArgoServerService,
		Port: ArgoServerPort, LocalPort: ArgoServerPort, Scheme: "https", Path: "/",
	}}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:Argo", name, c, opts...); err != nil {
		return nil, err
	}
	release, err := newArgoRelease(ctx, c, name, args.Namespace, ArgoReleaseName, "argo-workflows", args.ChartVersion,
		argoValues(args))
	if err != nil {
		return nil, err
	}
	c.Release = release
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"release":        release.Name,
		"namespace":      pulumi.String(args.Namespace),
		"serverService":  pulumi.String(ArgoServerService),
		"serverAccount":  pulumi.String(ArgoServerServiceAccount),
		"chartVersion":   pulumi.String(args.ChartVersion),
		"watchNamespace": pulumi.String(args.Tasks.Namespace),
	})
}

func argoValues(args *ArgoArgs) pulumi.Map {
	credentialEnv := make(pulumi.Array, 0, len(AzureCredentialKeys))
	for _, key := range AzureCredentialKeys {
		credentialEnv = append(credentialEnv, pulumi.Map{
			"name": pulumi.String(key),
			"valueFrom": pulumi.Map{"secretKeyRef": pulumi.Map{
				"name": pulumi.String(args.Tasks.CredentialsSecret), "key": pulumi.String(key),
			}},
		})
	}
	return pulumi.Map{
		"fullnameOverride": pulumi.String(ArgoReleaseName),
		"crds":             pulumi.Map{"install": pulumi.Bool(true), "keep": pulumi.Bool(true)},
		"singleNamespace":  pulumi.Bool(false),
		// The stack owns the workflow ServiceAccount and its executor RBAC (Tasks).
		"workflow": pulumi.Map{
			"serviceAccount": pulumi.Map{"create": pulumi.Bool(false)},
			"rbac":           pulumi.Map{"create": pulumi.Bool(false)},
		},
		"controller": pulumi.Map{
			"workflowNamespaces": pulumi.ToStringArray([]string{args.Tasks.Namespace}),
			"workflowDefaults": pulumi.Map{"spec": pulumi.Map{
				"serviceAccountName": pulumi.String(args.Tasks.ServiceAccount),
			}},
		},
		"server": pulumi.Map{
			"serviceType": pulumi.String("ClusterIP"),
			"secure":      pulumi.Bool(true),
			"extraArgs":   pulumi.ToStringArray([]string{"--auth-mode=" + args.AuthMode}),
		},
		// The executor's wait container uploads artifacts with DefaultAzureCredential; the
		// storage account takes no account keys.
		"executor":               pulumi.Map{"env": credentialEnv},
		"useDefaultArtifactRepo": pulumi.Bool(true),
		"useStaticCredentials":   pulumi.Bool(false),
		"artifactRepository": pulumi.Map{
			"archiveLogs": pulumi.Bool(false),
			// The chart's default S3 block would sit beside Azure in the controller config.
			"s3": nil,
			"azure": pulumi.Map{
				"endpoint":       pulumi.ToOutput(args.BlobEndpoint).ApplyT(func(e string) string { return strings.TrimSuffix(e, "/") }),
				"container":      args.Container,
				"blobNameFormat": pulumi.String("argo-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}"),
				"useSDKCreds":    pulumi.Bool(true),
			},
		},
	}
}

// newArgoRelease installs one of the official Argo charts, pinned, into a namespace of its own
// that the release depends on. Atomic: a failed install or upgrade rolls back instead of leaving
// a half-upgraded controller.
func newArgoRelease(ctx *pulumi.Context, parent pulumi.Resource, name, namespace, release, chart, version string, values pulumi.Map, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
	ns, err := NewNamespace(ctx, name+"-namespace", namespace, pulumi.Parent(parent))
	if err != nil {
		return nil, err
	}
	return helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name:           pulumi.String(release),
		Chart:          pulumi.String(chart),
		Version:        pulumi.String(version),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String(ArgoHelmRepository)},
		Namespace:      namespaceName(ns),
		Values:         values,
		Atomic:         pulumi.Bool(true),
		CleanupOnFail:  pulumi.Bool(true),
		Timeout:        pulumi.Int(600),
	}, append(opts, pulumi.Parent(parent))...)
}
