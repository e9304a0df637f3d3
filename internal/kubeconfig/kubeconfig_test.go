package kubeconfig

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// aadKubeconfig is shaped like the exec kubeconfig AKS returns for a cluster with AKS-managed
// Microsoft Entra ID.
const aadKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: aks
  cluster:
    certificate-authority-data: ` + "Y2E=" + `
    server: https://aks-1234.hcp.westeurope.azmk8s.io:443
contexts:
- name: aks
  context: {cluster: aks, user: clusterUser_rg_aks}
current-context: aks
users:
- name: clusterUser_rg_aks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630, --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t-1, --environment, AzurePublicCloud]
      interactiveMode: IfAvailable
`

func TestTokenModeReplacesTheDeviceCodeExec(t *testing.T) {
	out, err := NonInteractive([]byte(aadKubeconfig), ModeToken, "entra-token")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.AuthInfos["clusterUser_rg_aks"]
	if u.Exec != nil || u.Token != "entra-token" {
		t.Errorf("user: exec=%v token=%q; want the token and no exec", u.Exec, u.Token)
	}
	if c := cfg.Clusters["aks"]; c.Server != "https://aks-1234.hcp.westeurope.azmk8s.io:443" || string(c.CertificateAuthorityData) != "ca" {
		t.Errorf("cluster changed: %+v", c)
	}
	if strings.Contains(string(out), "devicecode") {
		t.Error("the device-code login survived")
	}
}

func TestKubeloginModes(t *testing.T) {
	for _, mode := range KubeloginModes {
		out, err := NonInteractive([]byte(aadKubeconfig), mode, "")
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := clientcmd.Load(out)
		exec := cfg.AuthInfos["clusterUser_rg_aks"].Exec
		got := strings.Join(exec.Args, " ")
		want := "get-token --login " + mode + " --server-id " + AKSServerAppID + " --tenant-id t-1 --environment AzurePublicCloud"
		if got != want {
			t.Errorf("%s: args %q, want %q", mode, got, want)
		}
		if exec.InteractiveMode != "Never" {
			t.Errorf("%s: interactiveMode %q", mode, exec.InteractiveMode)
		}
	}
}

func TestLocalAccountKubeconfigIsKept(t *testing.T) {
	local := strings.Replace(aadKubeconfig, aadKubeconfig[strings.Index(aadKubeconfig, "    exec:"):], "    token: local-token\n", 1)
	out, err := NonInteractive([]byte(local), ModeToken, "entra-token")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := clientcmd.Load(out)
	if u := cfg.AuthInfos["clusterUser_rg_aks"]; u.Token != "local-token" {
		t.Errorf("a local-account user was rewritten: %+v", u)
	}
}

func TestRefusals(t *testing.T) {
	if _, err := NonInteractive([]byte(aadKubeconfig), ModeToken, ""); err == nil {
		t.Error("token mode without a token was accepted")
	}
	if _, err := NonInteractive([]byte(aadKubeconfig), "devicecode", ""); err == nil {
		t.Error("an interactive mode was accepted")
	}
	other := strings.Replace(aadKubeconfig, "command: kubelogin", "command: gke-gcloud-auth-plugin", 1)
	if _, err := NonInteractive([]byte(other), ModeToken, "x"); err == nil {
		t.Error("an unknown exec plugin was accepted")
	}
}

func TestServerIsTheCurrentContextsCluster(t *testing.T) {
	got, err := Server([]byte(aadKubeconfig))
	if err != nil || got != "https://aks-1234.hcp.westeurope.azmk8s.io:443" {
		t.Fatalf("Server = %q, %v", got, err)
	}
	if _, err := Server([]byte(strings.Replace(aadKubeconfig, "current-context: aks", "current-context: other", 1))); err == nil {
		t.Error("a current context that is not defined must be an error")
	}
}
