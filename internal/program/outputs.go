package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/infra"
	"metaflow-azure/internal/metaflowconfig"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/taskpools"
)

// Output names: the stack's contract with people and other stacks (listed in the README).
// Renaming one breaks consumers; add new ones instead.
const (
	OutputResourceGroup         = "resourceGroupName"
	OutputLocation              = "location"
	OutputSubscriptionID        = "subscriptionId"
	OutputTenantID              = "tenantId"
	OutputStorageAccount        = "storageAccountName"
	OutputBlobEndpoint          = "blobEndpoint"
	OutputContainer             = "containerName"
	OutputContainerID           = "containerId"
	OutputDatastoreRoot         = "datastoreRoot"
	OutputPostgresHost          = "postgresHost"
	OutputPostgresDatabase      = "postgresDatabase"
	OutputPostgresAdminUser     = "postgresAdminUser"
	OutputPostgresAdminPassword = "postgresAdminPassword"
	OutputClusterName           = "aksClusterName"
	OutputKubeconfig            = "kubeconfig"
	OutputOIDCIssuerURL         = "oidcIssuerUrl"
	// OutputWorkloadIdentities describes each federated workload identity (workload identity
	// mode, the default): client ID, principal ID and the ServiceAccounts it trusts.
	OutputWorkloadIdentities = "workloadIdentities"
	// The service principal outputs exist in client-secret mode (identity.clientSecret) only.
	OutputClientID               = "servicePrincipalClientId"
	OutputClientSecret           = "servicePrincipalClientSecret"
	OutputClientSecretExpiry     = "servicePrincipalSecretExpiry"
	OutputMetaflowConfig         = "metaflowConfig"
	OutputPortForwards           = "portForwards"
	OutputPortForwardCommands    = "portForwardCommands"
	OutputNamespaces             = "namespaces"
	OutputMetaflowUIURL          = "metaflowUiUrl"
	OutputTaskPoolSelectorLabels = "taskNodeSelector"
	// OutputTaskPools lists every pool steps can target: name, node selector, VM size, spot,
	// gpu, default and the decorator that selects it.
	OutputTaskPools = "taskPools"
	// OutputAppliedSettings records what the deployment fixed that Azure cannot change in
	// place; the next run reads it back (internal/transitions).
	OutputAppliedSettings = "appliedSettings"
	// OutputRegistryLoginServer exists when registry.enabled is true.
	OutputRegistryLoginServer = "registryLoginServer"
)

// SecretOutputs are the outputs that must stay secret end to end.
var SecretOutputs = []string{
	OutputPostgresAdminPassword, OutputKubeconfig, OutputClientSecret, OutputMetaflowConfig,
}

func workloadIdentityOutput(w *infra.WorkloadIdentity) pulumi.Map {
	accounts := pulumi.StringArray{}
	for _, sa := range w.ServiceAccounts {
		accounts = append(accounts, pulumi.String(sa.Namespace+"/"+sa.Name))
	}
	return pulumi.Map{"clientId": w.ClientID, "principalId": w.PrincipalID, "serviceAccounts": accounts}
}

func stackOutputs(s *settings.Settings, pools []taskpools.Pool, rg *infra.ResourceGroup, store *infra.Datastore, db *infra.Database,
	cluster *infra.Cluster, identities workloadIdentities, registry *infra.Registry, k8s *kubernetesSide, subscriptionID, tenantID string) pulumi.Map {
	out := pulumi.Map{}
	out[OutputResourceGroup] = rg.Name
	out[OutputLocation] = pulumi.String(s.Location)
	out[OutputSubscriptionID] = pulumi.String(subscriptionID)
	out[OutputTenantID] = pulumi.String(tenantID)
	out[OutputStorageAccount] = store.AccountName
	out[OutputBlobEndpoint] = store.BlobEndpoint
	out[OutputContainer] = store.ContainerName
	out[OutputContainerID] = store.ContainerID
	out[OutputDatastoreRoot] = pulumi.Sprintf("%s/%s", store.ContainerName, DatastorePrefix)
	out[OutputPostgresHost] = db.Host
	out[OutputPostgresDatabase] = db.DatabaseName
	out[OutputPostgresAdminUser] = pulumi.String(db.AdminLogin)
	out[OutputPostgresAdminPassword] = db.AdminPassword
	out[OutputClusterName] = cluster.Name
	out[OutputKubeconfig] = cluster.UserKubeconfig
	out[OutputOIDCIssuerURL] = cluster.OIDCIssuerURL
	if app := identities.application; app != nil {
		out[OutputClientID] = app.ClientID
		out[OutputClientSecret] = app.ClientSecret
		out[OutputClientSecretExpiry] = app.SecretExpiry
	} else {
		out[OutputWorkloadIdentities] = pulumi.Map{
			"tasks":     workloadIdentityOutput(identities.tasks),
			"uiBackend": workloadIdentityOutput(identities.uiBackend),
		}
	}

	in := k8s.config
	loginServer := pulumi.String("").ToStringOutput()
	if registry != nil {
		loginServer = registry.LoginServer
		out[OutputRegistryLoginServer] = registry.LoginServer
	}
	config := pulumi.All(store.BlobEndpoint, store.ContainerName, loginServer).ApplyT(func(v []any) (string, error) {
		rendered := in
		rendered.BlobEndpoint, rendered.Container, rendered.Registry = v[0].(string), v[1].(string), v[2].(string)
		cfg, err := metaflowconfig.Render(rendered)
		if err != nil {
			return "", fmt.Errorf("rendering the Metaflow config: %w", err)
		}
		return metaflowconfig.JSON(cfg)
	}).(pulumi.StringOutput)
	out[OutputMetaflowConfig] = pulumi.ToSecret(config)
	out[OutputMetaflowUIURL] = pulumi.String(in.UI.LocalURL())

	forwards := pulumi.Array{}
	commands := pulumi.StringArray{}
	for _, e := range in.Endpoints() {
		forwards = append(forwards, pulumi.Map{
			"name": pulumi.String(e.Name), "namespace": pulumi.String(e.Namespace), "service": pulumi.String(e.Service),
			"port": pulumi.Int(e.Port), "localPort": pulumi.Int(e.LocalPort), "scheme": pulumi.String(e.Scheme),
			"url": pulumi.String(e.LocalURL()),
		})
		commands = append(commands, pulumi.String(e.KubectlCommand()))
	}
	out[OutputPortForwards] = forwards
	out[OutputPortForwardCommands] = commands

	namespaces := pulumi.StringMap{"metaflow": pulumi.String(s.Metaflow.Namespace), "tasks": pulumi.String(s.Metaflow.TaskNamespace)}
	if s.Argo.Enabled {
		namespaces["argo"] = pulumi.String(s.Argo.Namespace)
		if s.ArgoEvents.Enabled {
			namespaces["argoEvents"] = pulumi.String(s.ArgoEvents.Namespace)
		}
	}
	out[OutputNamespaces] = namespaces
	out[OutputTaskPoolSelectorLabels] = pulumi.ToStringMap(taskpools.Default(pools).Selector())
	out[OutputTaskPools] = poolsOutput(pools)
	return out
}

// poolsOutput names the pools so users can pick one (metaflow-azure config prints it).
func poolsOutput(pools []taskpools.Pool) pulumi.Array {
	out := pulumi.Array{}
	for _, p := range pools {
		out = append(out, pulumi.Map{
			"name": pulumi.String(p.Name), "nodeSelector": pulumi.String(p.SelectorString()),
			"vmSize": pulumi.String(p.VMSize), "spot": pulumi.Bool(p.Spot), "gpu": pulumi.Bool(p.GPU),
			"default": pulumi.Bool(p.Default), "decorator": pulumi.String(p.Decorator()),
		})
	}
	return out
}
