//go:build armcontract_deps

// This file is never compiled (its build tag is never set). It keeps the Azure SDK for Go modules
// whose source the generator parses in go.mod and go.sum, so `go mod tidy` does not drop them and
// `go mod download` fetches exactly the pinned versions.
package main

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v4"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v4"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers/v4"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/privatedns/armprivatedns"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armlocks"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v2"
	_ "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
)
