package services

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HelmReleaseType is the Kubernetes provider's Helm release resource.
const HelmReleaseType = "kubernetes:helm.sh/v3:Release"

// HelmRelease is a Helm release the Kubernetes provider installs, upgrades and uninstalls.
//
// It is registered with the provider's resource token, the way the SDK's helm/v3 NewRelease does
// (the same inputs, compat flag and plugin version), rather than through that package: the
// package also holds the client-side Chart component, whose yaml import compiles every one of
// the SDK's ~60 Kubernetes API groups, about 60 % of the program's cold build, where the stack
// uses eight. The names of the inputs are those of the provider's schema; the rehearsal tier
// installs the releases through the real provider.
type HelmRelease struct {
	pulumi.CustomResourceState

	// Name is the release's name.
	Name pulumi.StringPtrOutput `pulumi:"name"`
	// Status is the release as Helm reports it once installed (name, namespace, chart, version,
	// status, revision).
	Status pulumi.MapOutput `pulumi:"status"`
}

// helmReleaseArgs are the release inputs the stack sets.
type helmReleaseArgs struct {
	// Name is the release's name; Namespace where it is installed.
	Name      string
	Namespace pulumi.StringInput
	Chart     chartSource
	Values    pulumi.Map
	// Atomic rolls a failed install or upgrade back; CleanupOnFail deletes what a failed
	// upgrade created. Timeout (seconds) bounds the wait for the release's workloads.
	Atomic, CleanupOnFail bool
	Timeout               int
}

func newHelmRelease(ctx *pulumi.Context, name string, args helmReleaseArgs, opts ...pulumi.ResourceOption) (*HelmRelease, error) {
	props := pulumi.Map{
		"name":          pulumi.String(args.Name),
		"namespace":     args.Namespace,
		"version":       pulumi.String(args.Chart.Version),
		"values":        args.Values,
		"atomic":        pulumi.Bool(args.Atomic),
		"cleanupOnFail": pulumi.Bool(args.CleanupOnFail),
		"timeout":       pulumi.Int(args.Timeout),
		// As the SDK's NewRelease: the provider keeps the SDK-compatible shape of the outputs.
		"compat": pulumi.String("true"),
	}
	chart, repo := args.Chart.ref()
	props["chart"] = pulumi.String(chart)
	if repo != "" {
		props["repositoryOpts"] = pulumi.Map{"repo": pulumi.String(repo)}
	}
	var r HelmRelease
	if err := ctx.RegisterResource(HelmReleaseType, name, props, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}
