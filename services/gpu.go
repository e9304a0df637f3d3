package services

import (
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/images"
	"metaflow-azure/internal/metaflowconfig"
)

// DevicePluginNamespace is where the NVIDIA device plugin runs, as in NVIDIA's and Microsoft's
// manifests: a node-level add-on, not part of the Metaflow namespaces.
const DevicePluginNamespace = "kube-system"

// DevicePluginName names the DaemonSet.
const DevicePluginName = "nvidia-device-plugin"

// GPUDevicePluginArgs places the plugin on the GPU pools.
type GPUDevicePluginArgs struct {
	// NodeSelector matches the GPU pools' nodes and no others.
	NodeSelector map[string]string
	// Tolerations tolerate the GPU pools' taints (and nothing more is needed: the selector
	// already keeps it off every other node).
	Tolerations []metaflowconfig.Toleration
}

// NewGPUDevicePlugin declares NVIDIA's device plugin DaemonSet, which makes nvidia.com/gpu
// schedulable on AKS GPU nodes: AKS installs the driver but not the plugin, and the AKS API
// version the stack sends has no managed option (azurefacts.GPUProfileInAPI).
func NewGPUDevicePlugin(ctx *pulumi.Context, name string, args *GPUDevicePluginArgs, opts ...pulumi.ResourceOption) (*appsv1.DaemonSet, error) {
	if args == nil {
		return nil, errNilArgs("GPUDevicePlugin")
	}
	selector := pulumi.ToStringMap(selectorLabels(DevicePluginName))
	var tolerations corev1.TolerationArray
	for _, t := range args.Tolerations {
		tolerations = append(tolerations, &corev1.TolerationArgs{
			Key: pulumi.String(t.Key), Operator: pulumi.String(t.Operator), Value: pulumi.String(t.Value), Effect: pulumi.String(t.Effect),
		})
	}
	c := &struct{ pulumi.ResourceState }{}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:GPUDevicePlugin", name, c, opts...); err != nil {
		return nil, err
	}
	ds, err := appsv1.NewDaemonSet(ctx, name, &appsv1.DaemonSetArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(DevicePluginName),
			Namespace: pulumi.String(DevicePluginNamespace),
			Labels:    pulumi.ToStringMap(labels(DevicePluginName, "gpu")),
		},
		Spec: &appsv1.DaemonSetSpecArgs{
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: selector},
			UpdateStrategy: &appsv1.DaemonSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels(DevicePluginName, "gpu"))},
				Spec: &corev1.PodSpecArgs{
					NodeSelector:      pulumi.ToStringMap(args.NodeSelector),
					Tolerations:       tolerations,
					PriorityClassName: pulumi.String(images.DevicePluginPriorityClass),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						// As NVIDIA's manifest at the tag: no resources (none are published for it)
						// and the same container security (images.Table).
						Name:  pulumi.String("nvidia-device-plugin"),
						Image: pulumi.String(images.DevicePluginImage),
						// NVIDIA's manifest: no privilege escalation, every capability dropped; its
						// root filesystem stays writable as there (what the plugin writes beside its
						// socket is not read here, and no GPU node exists to prove it).
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
						},
						VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{
							Name: pulumi.String("device-plugin"), MountPath: pulumi.String(images.DevicePluginDir),
						}},
					}},
					Volumes: corev1.VolumeArray{&corev1.VolumeArgs{
						Name: pulumi.String("device-plugin"),
						HostPath: &corev1.HostPathVolumeSourceArgs{
							Path: pulumi.String(images.DevicePluginDir), Type: pulumi.String("Directory"),
						},
					}},
				},
			},
		},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	return ds, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}
