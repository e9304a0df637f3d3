// Command metaflow-azure is the Pulumi program: `pulumi up` deploys Metaflow on Azure.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/program"
)

func main() {
	pulumi.Run(program.Run)
}
