// Package kubeconfig turns the cluster-user kubeconfig AKS returns into one a program can use
// without a person at the keyboard. For a cluster with Microsoft Entra ID (aks.azureRbac), AKS
// returns an exec kubeconfig that runs `kubelogin get-token --login devicecode`: it fails where
// kubelogin is not installed and, where it is, waits for a device-code sign-in nobody sees.
package kubeconfig

import (
	"fmt"
	"slices"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AKSServerAppID is the application ID of the Azure Kubernetes Service Microsoft Entra server:
// the audience of every token an AKS-managed Entra cluster accepts, and kubelogin's --server-id.
// Source: Azure/kubelogin docs and the exec kubeconfig AKS itself returns (--server-id).
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// Modes a kubeconfig can sign in with.
const (
	// ModeToken embeds an Entra access token for AKSServerAppID, obtained by the caller.
	ModeToken = "token"
)

// KubeloginModes are kubelogin's non-interactive login modes.
var KubeloginModes = []string{"azurecli", "workloadidentity", "spn", "msi"}

// NonInteractive rewrites every exec user that runs kubelogin: with ModeToken it becomes a bearer
// token user (token must be set); with a kubelogin mode it keeps the exec but logs in with that
// mode. Users that are not kubelogin execs (a token or client certificate from a cluster with
// local accounts) are left as they are, so the result is always non-interactive.
func NonInteractive(raw []byte, mode, token string) ([]byte, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the AKS kubeconfig: %w", err)
	}
	if mode == ModeToken && token == "" {
		return nil, fmt.Errorf("kubeconfig: login mode %q needs a token", mode)
	}
	if mode != ModeToken && !slices.Contains(KubeloginModes, mode) {
		return nil, fmt.Errorf("kubeconfig: unknown login mode %q", mode)
	}
	for name, user := range cfg.AuthInfos {
		if user.Exec == nil {
			continue
		}
		if user.Exec.Command != "kubelogin" {
			return nil, fmt.Errorf("kubeconfig: user %q runs %q, which the stack cannot make non-interactive", name, user.Exec.Command)
		}
		if mode == ModeToken {
			cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
			continue
		}
		user.Exec.Args = kubeloginArgs(user.Exec.Args, mode)
		user.Exec.InteractiveMode = clientcmdapi.NeverExecInteractiveMode
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return out, nil
}

// kubeloginArgs keeps `get-token` and the cluster's --server-id, --environment and --tenant-id,
// and replaces the login mode. The devicecode --client-id (the Azure CLI's public client) is
// dropped: the non-interactive modes take the client from their own environment.
func kubeloginArgs(args []string, mode string) []string {
	keep := map[string]bool{"--server-id": true, "--environment": true, "--tenant-id": true}
	out := []string{"get-token", "--login", mode}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if keep[a] && i+1 < len(args) {
			out = append(out, a, args[i+1])
			i++
		}
	}
	return out
}

// Server is the API server URL of a kubeconfig's current context: for AKS the cluster's FQDN,
// which a cluster keeps for its whole life and a re-created cluster does not share.
func Server(raw []byte) (string, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return "", fmt.Errorf("reading the AKS kubeconfig: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return "", fmt.Errorf("kubeconfig: the current context %q is not defined", cfg.CurrentContext)
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok || cluster.Server == "" {
		return "", fmt.Errorf("kubeconfig: context %q names cluster %q, which has no server", cfg.CurrentContext, ctx.Cluster)
	}
	return cluster.Server, nil
}
