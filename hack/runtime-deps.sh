#!/usr/bin/env bash
# Installs what the runtime tier (tests/runtime) runs the images' programs with, from Debian:
# nginx (the metaflow-ui image's server), python3 (the metadata service's interpreter) and
# util-linux (setpriv and unshare apply each container's user, capabilities and no_new_privs and
# make its process PID 1). Creates the unprivileged `nginx` user the UI image's workers run as.
# Needs root (CI runs as root). Instant when everything is there; about 15-30 s of apt otherwise.
set -euo pipefail

# The nginx package's own service is never started: nothing here runs an init system, and the
# tests start nginx themselves on loopback with their own configuration.
"$(dirname "$0")/apt-install.sh" nginx python3 util-linux
if ! id nginx >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx
fi
