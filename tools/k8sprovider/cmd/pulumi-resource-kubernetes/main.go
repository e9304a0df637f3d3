// Command pulumi-resource-kubernetes is the Kubernetes resource provider built from the pinned
// provider module. It serves the provider exactly as upstream's command does; the two embedded
// files are written by `go run ./gen` (see ../../gen) before the build and are gitignored.
//
// The version the provider reports is set at link time:
//
//	go build -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=4.25.0" ./cmd/pulumi-resource-kubernetes
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
