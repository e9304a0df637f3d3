"""Stand-in for `python -m services.ui_backend_service.ui_server` (metaflow-service v2.5.1,
services/ui_backend_service/ui_server.py): handle SIGTERM, SIGHUP and SIGINT by logging only
(lines 182-183, 203-204), keep the artifact cache in ./cache_data under the working directory
(data/cache/client/cache_server.py:366), the card cache in /tmp
(data/cache/card_cache_manager.py:30) and the Metaflow client's temporary artifact directories in
METAFLOW_ARTIFACT_LOCALROOT, else the working directory (metaflow 2.19.34
metaflow_config.py:241, plugins/datastores/azure_storage.py:378), serve PATH_PREFIX + /ping on
MF_UI_METADATA_HOST:MF_UI_METADATA_PORT (lines 48-51). It writes each place once before serving,
so a place it cannot write stops it as it would stop the real backend's first artifact view."""
import logging
import os
import signal
import tempfile

from services.standin_http import serve


def log_signal(signum, frame):
    logging.warning("Received signal: %s", signum)


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, log_signal)
    os.makedirs(os.path.join("cache_data", "log"), exist_ok=True)
    with open(os.path.join("cache_data", "log", "probe"), "w") as f:
        f.write("written by the ui backend stand-in\n")
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="metaflow-card-") as f:
        f.write(b"card")
    os.rmdir(tempfile.mkdtemp(dir=os.environ.get("METAFLOW_ARTIFACT_LOCALROOT", os.getcwd()), prefix="metaflow.azure.load_bytes."))
    serve(
        os.environ.get("MF_UI_METADATA_HOST", "0.0.0.0"),
        os.environ.get("MF_UI_METADATA_PORT", 8083),
        os.environ.get("PATH_PREFIX", ""),
    )
