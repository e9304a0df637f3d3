// Command metaflow-azure plans, deploys and operates the Metaflow-on-Azure stack.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"metaflow-azure/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.DefaultStreams(), os.Args[1:])
	stop()
	os.Exit(code)
}
