package services

// Pod Security Admission: the label the API server's PodSecurity admission reads on a namespace,
// and the levels it enforces (k8s.io/pod-security-admission v0.35.4 api/constants.go:22-24 and
// 40, the admission the kube-apiserver runs; levels defined in Kubernetes' Pod Security
// Standards). The real API server of tests/k8sapi enforces them on every stack pod, on pods
// shaped as Metaflow and Argo create them, and refuses privileged and host-network pods.
const (
	PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"
	// PodSecurityRestricted is the hardened level: non-root, seccomp RuntimeDefault, every
	// capability dropped (NET_BIND_SERVICE alone may come back), no privilege escalation.
	PodSecurityRestricted = "restricted"
	// PodSecurityBaseline refuses known privilege escalations: privileged containers, host
	// namespaces, ports and paths, added capabilities beyond a short list.
	PodSecurityBaseline = "baseline"
)

// The level of each namespace the stack owns, with the reason where it is not restricted.
const (
	// servicesPodSecurity: baseline, because the images run as root and the UI needs three
	// capabilities restricted forbids: the metadata service's image has no USER (uid 0) and the
	// UI's nginx master starts as root and needs CHOWN, SETGID and SETUID to hand its workers to
	// the nginx user (package images); restricted requires runAsNonRoot and allows adding
	// NET_BIND_SERVICE only.
	servicesPodSecurity = PodSecurityBaseline
	// tasksPodSecurity: baseline, because Metaflow runs every task as its image's user with no
	// security context of its own (metaflow 2.19.38 kubernetes_job.py sets none unless a step
	// asks), which is root in its default python image and in most task images; restricted
	// would refuse those pods. Argo's, the EventBus's, the EventSource's and the sensors' pods
	// run there too.
	tasksPodSecurity = PodSecurityBaseline
	// argoPodSecurity and argoEventsPodSecurity: restricted. The charts' controllers and the
	// Argo server run non-root with every capability dropped; the stack adds the seccomp profile
	// (and for the events controller upstream's own non-root user) through the chart values.
	argoPodSecurity       = PodSecurityRestricted
	argoEventsPodSecurity = PodSecurityRestricted
)
