// Package images is the one place that records what the stack relies on about other people's
// container images: users, paths, ports, commands, the environment variables a release reads,
// its signal handling and how many PostgreSQL connection pools it opens. Every fact was read
// from the owner's published source at the pinned tag; Table lists each with that source
// (repository, tag, commit, file:line), and the code below uses the constants, never a retyped
// value. A new default tag means re-reading these sources and updating this file. It imports
// no SDK.
package images

// Default images. A digest pin (repository@sha256:…) is accepted wherever a tag is.
const (
	MetadataRepository = "public.ecr.aws/outerbounds/metaflow_metadata_service"
	// MetadataTag is metaflow-service v2.5.1, which fixes an SQL injection
	// (Netflix/metaflow-service #467).
	MetadataTag   = "v2.5.1"
	UIRepository  = "public.ecr.aws/outerbounds/metaflow_ui"
	UITag         = "v1.3.14"
	MetadataImage = MetadataRepository + ":" + MetadataTag
	UIImage       = UIRepository + ":" + UITag
)

// Sources the facts were read from.
const (
	metaflowService = "Netflix/metaflow-service@v2.5.1 (b6b5f226f20eb8f6c32fd88b672c3d7c6b5fad13)"
	metaflowUI      = "Netflix/metaflow-ui@v1.3.14 (ed4c2d34f12e7c4ac0020978bcfb8c8c2d938c6b)"
	// The UI image is built FROM the unpinned `nginx` tag; this is the newest snapshot of its
	// source that could be read here (nginx 1.27.4), not necessarily the one v1.3.14 was built on.
	dockerNginx = "nginxinc/docker-nginx@b430becb8f0f6b8d69e68cc73a82ea2873c38639 (2025-02-14)"
	// The image installs metaflow>=2.11.4 unpinned; 2.19.34 is the newest release before the
	// v2.5.1 commit (../shared/upstream/README.md).
	metaflowInUIBackend = "Netflix/metaflow@2.19.34 (5cdcc708e8d69d61a9ab73f8002c4596105b0278)"
)

// The metadata service image (metadata service, UI backend and migrations).
const (
	// MetadataUID is the user its processes run as: the Dockerfile has no USER, so root.
	MetadataUID = 0
	// MetadataWorkdir is the image's WORKDIR; the UI backend keeps its cache_data there.
	MetadataWorkdir = "/root"
	// MetadataPython is the virtualenv interpreter the services are installed into.
	MetadataPython = "/opt/latest/bin/python3"
	// MetadataServerModule and UIBackendModule are what `python -m` runs.
	MetadataServerModule = "services.metadata_service.server"
	UIBackendModule      = "services.ui_backend_service.ui_server"
	// MigrationScript runs goose (/usr/local/bin/goose) against the database.
	MigrationScript = "/root/run_goose.py"
	// MetadataPort and UIBackendPort are the services' default ports; MetadataPortEnv,
	// MetadataHostEnv, UIBackendPortEnv and UIBackendHostEnv override port and bind address.
	MetadataPort     = 8080
	MetadataPortEnv  = "MF_METADATA_PORT"
	MetadataHostEnv  = "MF_METADATA_HOST"
	UIBackendPort    = 8083
	UIBackendPortEnv = "MF_UI_METADATA_PORT"
	UIBackendHostEnv = "MF_UI_METADATA_HOST"
	// PingPath answers 200 in both services (under PATH_PREFIX for the UI backend).
	PingPath = "/ping"
	// DBSSLModeEnv exists since v2.4.4 (not v2.4.5).
	DBSSLModeEnv = "MF_METADATA_DB_SSL_MODE"
	// DBPoolMinEnv and DBPoolMaxEnv size every aiopg pool a process opens (defaults 1 and 10).
	DBPoolMinEnv     = "MF_METADATA_DB_POOL_MIN"
	DBPoolMaxEnv     = "MF_METADATA_DB_POOL_MAX"
	DefaultDBPoolMax = 10
	// MetadataPools is how many pools a metadata service process opens.
	MetadataPools = 1
	// UIBackendPools is how many pools a UI backend process opens with the default features:
	// ui, ui:cache, ui:notify, ui:heartbeat, ui:websocket and the embedded metadata app.
	UIBackendPools = 6
	// MigrationConnections bounds what a migration run holds at once: run_goose.py's psycopg2
	// check (closed before goose starts) and goose's own connection.
	MigrationConnections = 2
)

// Signal handling of the services' processes.
const (
	// MetadataHandlesSIGTERM is false: server.py installs no handler, and as a container's PID 1
	// a process without a handler never sees SIGTERM (the kernel drops it).
	MetadataHandlesSIGTERM = false
	// UIBackendIgnoresSIGTERM: ui_server.py handles SIGTERM, SIGHUP and SIGINT by logging them
	// and carrying on, so only SIGKILL stops it.
	UIBackendIgnoresSIGTERM = true
)

// The UI image (nginx serving the built UI).
const (
	// UIMasterUID is nginx's master process user: root (no USER in either Dockerfile).
	UIMasterUID = 0
	// UIWorkerUser is the unprivileged user (uid 101) the master switches its workers to, after
	// chown-ing its temp directories to it: hence CHOWN, SETUID and SETGID.
	UIWorkerUser = "nginx"
	UIWorkerUID  = 101
	UIPort       = 3000
	// UIPortEnv is substituted into the server block's `listen` by the entrypoint's envsubst.
	UIPortEnv = "PORT"
	// UIServiceEnv is the backend URL injected into index.html.
	UIServiceEnv = "METAFLOW_SERVICE"
	UIHTMLRoot   = "/usr/share/nginx/html"
	UIProbePath  = "/"
	// UIStopSignal is the image's STOPSIGNAL: nginx's graceful shutdown.
	UIStopSignal = "SIGQUIT"
)

// What the images write at run time, so their root filesystems can be read-only with a
// writable emptyDir at exactly these paths (proven by the runtime tier, tests/runtime, which
// also shows each of them is needed).
var (
	// UIWritablePaths: the entrypoint renders the server block into /etc/nginx/conf.d and,
	// finding it not writable, serves nginx's default site instead ("ERROR: ... is not
	// writable", docker-nginx entrypoint/20-envsubst-on-templates.sh:34-44); the master writes
	// its pid to /var/run/nginx.pid (the image's nginx.conf, as docker-nginx
	// .test/tests/modules/nginx.conf.sme:9 copies it) and creates its temp directories under
	// /var/cache/nginx.
	UIWritablePaths = []string{"/etc/nginx/conf.d", "/var/cache/nginx", "/var/run"}
	// UIBackendWritablePaths: the cache server keeps its objects in ./cache_data under the
	// WORKDIR (cache_server.py:366) and the card cache in /tmp (card_cache_manager.py:30).
	UIBackendWritablePaths = []string{MetadataWorkdir + "/cache_data", "/tmp"}
)

// UIBackendArtifactTempEnv moves the Metaflow client's temporary artifact downloads inside the
// UI backend from the working directory (metaflow 2.19.34, the UI backend's Metaflow:
// metaflow_config.py:241 ARTIFACT_LOCALROOT defaults to os.getcwd(), read from
// METAFLOW_ARTIFACT_LOCALROOT by from_conf, metaflow_config_funcs.py:108; the Azure datastore
// makes its temporary directories there, plugins/datastores/azure_storage.py:263,378) to /tmp,
// which is writable; /root holds the code and stays read-only.
const (
	UIBackendArtifactTempEnv = "METAFLOW_ARTIFACT_LOCALROOT"
	UIBackendArtifactTempDir = "/tmp"
)

// UICapabilities are the Linux capabilities nginx's root master needs once ALL are dropped:
// chown its temp directories to the worker user, then setgid/setuid to it. Proven by the
// runtime tier (tests/runtime), which also shows that dropping any one of them fails.
var UICapabilities = []string{"CHOWN", "SETGID", "SETUID"}

// NVIDIA's device plugin for Kubernetes, which AKS GPU nodes need for nvidia.com/gpu to be
// schedulable (azurefacts.GPUSource). The tag is the one Microsoft's AKS GPU article pins, and
// NVIDIA's static manifest at that tag names the same image.
const (
	DevicePluginRepository = "nvcr.io/nvidia/k8s-device-plugin"
	DevicePluginTag        = "v0.17.1"
	DevicePluginImage      = DevicePluginRepository + ":" + DevicePluginTag
	// DevicePluginDir is the kubelet's device plugin directory the plugin registers through
	// (a hostPath of type Directory).
	DevicePluginDir = "/var/lib/kubelet/device-plugins"
	// DevicePluginPriorityClass marks it a critical add-on, as NVIDIA's manifest does.
	DevicePluginPriorityClass = "system-node-critical"
	// DevicePluginFailOnInitErrorEnv defaults to true: an initialisation error fails the
	// plugin. NVIDIA's and Microsoft's manifests set it false so the DaemonSet may run on
	// nodes without GPUs; the stack runs it on GPU pools only, so it keeps the default and
	// a broken GPU node shows up as a failing pod instead of a silent one.
	DevicePluginFailOnInitErrorEnv = "FAIL_ON_INIT_ERROR"
)

const (
	nvidiaDevicePlugin = "NVIDIA/k8s-device-plugin@v0.17.1 (3c378193fcebf6e955f0d65bd6f2aeed099ad8ea)"
	aksGPUArticle      = "MicrosoftDocs/azure-aks-docs articles/aks/gpu-cluster.md @ 002d7f48"
)

// Fact is one thing the stack relies on about an image, and where it was read.
type Fact struct {
	Image  string
	Fact   string
	Source string
}

// Table is every fact with its source, for people (the README points here) and reviews.
var Table = []Fact{
	{MetadataImage, "built from the repository's Dockerfile (context .) by the release workflow", metaflowService + " .github/workflows/dockerimage.yml:33-37"},
	{MetadataImage, "base python:3.11.6-slim-bookworm; no USER, so every process runs as root (uid 0)", metaflowService + " Dockerfile:7"},
	{MetadataImage, "Debian bookworm base, so /bin/sh exists for the stack's stop wrapper", metaflowService + " Dockerfile:7"},
	{MetadataImage, "interpreter /opt/latest/bin/python3 (virtualenv), the services pip-installed into it", metaflowService + " Dockerfile:31,43"},
	{MetadataImage, "code under /root/services, run_goose.py at /root/run_goose.py; WORKDIR /root", metaflowService + " Dockerfile:35-42"},
	{MetadataImage, "goose at /usr/local/bin/goose", metaflowService + " Dockerfile:8"},
	{MetadataImage, "metadata service: `python -m services.metadata_service.server`, port MF_METADATA_PORT (8080), bind MF_METADATA_HOST (0.0.0.0), no signal handler", metaflowService + " services/metadata_service/server.py:44-59"},
	{MetadataImage, "GET /ping answers in both services", metaflowService + " services/metadata_service/api/admin.py:22, services/ui_backend_service/api/admin.py:33"},
	{MetadataImage, "UI backend: port MF_UI_METADATA_PORT (8083), bind MF_UI_METADATA_HOST, under PATH_PREFIX; reads METAFLOW_SERVICE_URL, UI_ENABLED, ORIGIN_TO_ALLOW_CORS_FROM", metaflowService + " services/ui_backend_service/ui_server.py:48-59,136; services/utils/__init__.py:39"},
	{MetadataImage, "UI backend handles SIGTERM/SIGHUP/SIGINT by logging only", metaflowService + " services/ui_backend_service/ui_server.py:182-183,203-204"},
	{MetadataImage, "UI backend opens 6 pools (ui, cache, notify, heartbeat, websocket, embedded metadata app); metadata service 1", metaflowService + " services/ui_backend_service/ui_server.py:79-104,129-133; services/metadata_service/server.py:27-28"},
	{MetadataImage, "pool sizes MF_METADATA_DB_POOL_MIN/MAX, defaults 1/10, per pool; a reader pool only with USE_SEPARATE_READER_POOL", metaflowService + " services/utils/__init__.py:231-232,282-283; services/data/postgres_async_db.py:92-111"},
	{MetadataImage, "MF_METADATA_DB_SSL_MODE read since v2.4.4 (services/utils/__init__.py:229 and run_goose.py:58 at v2.4.4; absent at v2.4.3)", metaflowService + " services/utils/__init__.py:252; run_goose.py"},
	{MetadataImage, "migrations: psycopg2 checks (closed), then goose runs /root/services/migration_service/migration_files", metaflowService + " run_goose.py:13-31,35-47,93-104"},
	{MetadataImage, "UI backend writes ./cache_data under the WORKDIR and card caches under /tmp", metaflowService + " services/ui_backend_service/data/cache/client/cache_server.py:366; data/cache/card_cache_manager.py:30-33"},
	{MetadataImage, "MF_DATASTORE_ROOT is read by no release (git grep over every tag finds none)", metaflowService},
	{UIImage, "final stage FROM nginx (unpinned); no USER", metaflowUI + " Dockerfile:24-26"},
	{UIImage, "ENV PORT=3000, METAFLOW_SERVICE=/api; built UI in /usr/share/nginx/html; server block from /etc/nginx/templates/default.conf.template", metaflowUI + " Dockerfile:28-38"},
	{UIImage, "server block: listen ${PORT}; root /usr/share/nginx/html; try_files … /index.html; METAFLOW_SERVICE injected into index.html", metaflowUI + " nginx.conf.template:1-28"},
	{DevicePluginImage, "image nvcr.io/nvidia/k8s-device-plugin:v0.17.1 in NVIDIA's static DaemonSet at the tag; Microsoft's AKS GPU article pins the same image", nvidiaDevicePlugin + " deployments/static/nvidia-device-plugin.yml:41; " + aksGPUArticle},
	{DevicePluginImage, "mounts hostPath /var/lib/kubelet/device-plugins (type Directory) at the same path; priorityClassName system-node-critical; allowPrivilegeEscalation false, capabilities drop ALL", nvidiaDevicePlugin + " deployments/static/nvidia-device-plugin.yml:39,46-56"},
	{DevicePluginImage, "FAIL_ON_INIT_ERROR defaults to true (fail on an initialisation error); false only blocks, for nodes without GPUs", nvidiaDevicePlugin + " README.md:211,255-263"},
	{UIImage, "nginx: worker user nginx uid 101; ENTRYPOINT /docker-entrypoint.sh (envsubst of templates); CMD nginx -g 'daemon off;'; STOPSIGNAL SIGQUIT; error log to stderr", dockerNginx + " mainline/debian/Dockerfile:18-19,130,139-145"},
	{UIImage, "entrypoint renders templates into /etc/nginx/conf.d and skips them when it is not writable; the image's nginx.conf writes the pid to /var/run/nginx.pid", dockerNginx + " entrypoint/20-envsubst-on-templates.sh:34-44; .test/tests/modules/nginx.conf.sme:9"},
	{MetadataImage, "the UI backend's Metaflow client makes temporary artifact directories in ARTIFACT_LOCALROOT, the working directory unless METAFLOW_ARTIFACT_LOCALROOT says otherwise", metaflowInUIBackend + " metaflow/metaflow_config.py:241; metaflow/metaflow_config_funcs.py:108; metaflow/plugins/datastores/azure_storage.py:263,378"},
	{MetadataImage, "the metadata service is one asyncio process (one event loop, no workers)", metaflowService + " services/metadata_service/server.py:44-59"},
}
