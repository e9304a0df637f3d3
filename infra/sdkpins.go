//go:build sdkpins

// This file is never built. It keeps the azure-native network SDK in go.mod at the provider
// version the stack's network resources are registered with (azurenetwork.go): the API version
// azure-native sends an unversioned token with is named in that SDK's source, which
// tools/armcontract reads, and TestNetworkSDKIsTheProvidersVersion holds the two versions equal.
package infra

import _ "github.com/pulumi/pulumi-azure-native-sdk/network/v2"
