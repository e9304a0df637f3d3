//go:build metaflow

// Package metaflow is the Metaflow tier (build tag metaflow, `make test-metaflow`): a data
// scientist's first hour against each stack's plan, with the real upstream software. See
// TestMetaflow and docs/testing.md.
package metaflow
