package services

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/dbpool"
)

// resources are a container's requests and limits. Each CPU limit is chosen to throttle only
// what the process could not use well anyway (the reason is beside each workload): it bounds
// what one runaway pod takes from the system pool it shares with the cluster's add-ons.
type resources struct {
	cpu, cpuLimit, memory, memoryLimit string
}

func (r resources) args() *corev1.ResourceRequirementsArgs {
	return &corev1.ResourceRequirementsArgs{
		Requests: pulumi.StringMap{"cpu": pulumi.String(r.cpu), "memory": pulumi.String(r.memory)},
		Limits:   pulumi.StringMap{"cpu": pulumi.String(r.cpuLimit), "memory": pulumi.String(r.memoryLimit)},
	}
}

// writableVolumes are an emptyDir per path a container writes to: with a read-only root
// filesystem, these are the only places it can write (package images lists them per image).
func writableVolumes(paths []string) (corev1.VolumeArray, corev1.VolumeMountArray) {
	var volumes corev1.VolumeArray
	var mounts corev1.VolumeMountArray
	for i, p := range paths {
		name := fmt.Sprintf("writable-%d", i)
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(p)})
	}
	return volumes, mounts
}

// webWorkload is an HTTP service: a Deployment, a ClusterIP Service selecting its pods and a
// PodDisruptionBudget.
type webWorkload struct {
	name      string
	component string
	namespace pulumi.StringInput
	image     string
	command   []string
	port      int
	// probePath answers 200 when the container serves.
	probePath string
	// livenessDelay gives slow starters time before they are restarted (seconds).
	livenessDelay int
	replicas      int
	// serviceAccount the pods run as.
	serviceAccount string
	// podLabels are added to the pod template's labels (not the selector), e.g. the workload
	// identity label.
	podLabels map[string]string
	// podAnnotations are the pod template's annotations.
	podAnnotations pulumi.StringMap
	// capabilities are added back after dropping ALL: only what the image's process needs.
	capabilities []string
	// writable are the paths the container writes to (emptyDirs); the rest of its root
	// filesystem is read-only.
	writable []string
	// after are what the Deployment (only) must wait for, e.g. the migrations.
	after     []pulumi.Resource
	env       corev1.EnvVarArray
	envFrom   corev1.EnvFromSourceArray
	resources resources
}

type webResources struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
}

// containerSecurity is what every container of the stack runs with: no privilege escalation,
// every capability dropped and only those named added back, and a read-only root filesystem
// (each writes only to its emptyDirs). The Metaflow images run as root (package images), so
// runAsNonRoot cannot be forced. The runtime tier (tests/runtime) runs each image's process under
// exactly this context.
func containerSecurity(add ...string) *corev1.SecurityContextArgs {
	caps := &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})}
	if len(add) > 0 {
		caps.Add = pulumi.ToStringArray(add)
	}
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Capabilities:             caps,
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
	}
}

// stopOnTerm runs argv as the child of a small /bin/sh that is the container's PID 1 and turns
// the kubelet's SIGTERM into signal for it. A process without a SIGTERM handler is immune to
// SIGTERM as PID 1 (the kernel drops it), and the UI backend handles SIGTERM by logging it;
// either way every pod stop would wait out the whole grace period. The shell exits with the
// service's status, and its exit ends every process left in the container.
func stopOnTerm(signal string, argv ...string) []string {
	script := `trap 'kill -s ` + signal + ` "$child" 2>/dev/null' TERM; "$@" & child=$!; ` +
		`while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || exit "$status"; done`
	return append([]string{"/bin/sh", "-c", script, "sh"}, argv...)
}

func podSecurity() *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

func httpProbe(path string, port, delay, period int) *corev1.ProbeArgs {
	return &corev1.ProbeArgs{
		HttpGet:             &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(port)},
		InitialDelaySeconds: pulumi.Int(delay),
		PeriodSeconds:       pulumi.Int(period),
		TimeoutSeconds:      pulumi.Int(5),
		FailureThreshold:    pulumi.Int(3),
	}
}

func newWebWorkload(ctx *pulumi.Context, w webWorkload, opts ...pulumi.ResourceOption) (*webResources, error) {
	selector := pulumi.ToStringMap(selectorLabels(w.name))
	meta := func() *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{
			Name:      pulumi.String(w.name),
			Namespace: w.namespace,
			Labels:    pulumi.ToStringMap(labels(w.name, w.component)),
		}
	}
	volumes, mounts := writableVolumes(w.writable)
	deployment, err := appsv1.NewDeployment(ctx, w.name, &appsv1.DeploymentArgs{
		Metadata: meta(),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(w.replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: selector},
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
					MaxUnavailable: pulumi.Int(0),
					MaxSurge:       pulumi.Int(dbpool.RolloutSurge),
				},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels:      pulumi.ToStringMap(withLabels(labels(w.name, w.component), w.podLabels)),
					Annotations: w.podAnnotations,
				},
				Spec: &corev1.PodSpecArgs{
					SecurityContext:              podSecurity(),
					ServiceAccountName:           pulumi.String(w.serviceAccount),
					AutomountServiceAccountToken: pulumi.Bool(false),
					// Spread replicas over nodes so one node going away leaves the service up.
					TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{&corev1.TopologySpreadConstraintArgs{
						MaxSkew:           pulumi.Int(1),
						TopologyKey:       pulumi.String("kubernetes.io/hostname"),
						WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
						LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: selector},
					}},
					Volumes: volumes,
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String(w.name),
						VolumeMounts:    mounts,
						Image:           pulumi.String(w.image),
						ImagePullPolicy: pulumi.String("IfNotPresent"),
						Command:         pulumi.ToStringArray(w.command),
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
							Name: pulumi.String("http"), ContainerPort: pulumi.Int(w.port), Protocol: pulumi.String("TCP"),
						}},
						Env:             w.env,
						EnvFrom:         w.envFrom,
						ReadinessProbe:  httpProbe(w.probePath, w.port, 10, 10),
						LivenessProbe:   httpProbe(w.probePath, w.port, w.livenessDelay, 20),
						Resources:       w.resources.args(),
						SecurityContext: containerSecurity(w.capabilities...),
					}},
				},
			},
		},
	}, append(opts, pulumi.DependsOn(w.after))...)
	if err != nil {
		return nil, err
	}
	service, err := corev1.NewService(ctx, w.name, &corev1.ServiceArgs{
		Metadata: meta(),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: selector,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(w.port), TargetPort: pulumi.String("http"), Protocol: pulumi.String("TCP"),
			}},
		},
	}, opts...)
	if err != nil {
		return nil, err
	}
	// maxUnavailable 1 rather than minAvailable: with a single replica a node drain still
	// proceeds instead of blocking forever.
	if _, err := policyv1.NewPodDisruptionBudget(ctx, w.name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta(),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: selector},
		},
	}, opts...); err != nil {
		return nil, err
	}
	return &webResources{deployment: deployment, service: service}, nil
}

// withLabels returns base with extra added.
func withLabels(base, extra map[string]string) map[string]string {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// plainEnv turns name/value pairs into env vars.
func plainEnv(pairs ...string) corev1.EnvVarArray {
	env := make(corev1.EnvVarArray, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String(pairs[i]), Value: pulumi.String(pairs[i+1])})
	}
	return env
}

func secretEnv(name, secret, key string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{
		Name: pulumi.String(name),
		ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
			Name: pulumi.String(secret), Key: pulumi.String(key),
		}},
	}
}
