"""Stand-in for `python -m services.metadata_service.server` (metaflow-service v2.5.1,
services/metadata_service/server.py:44-59): bind MF_METADATA_HOST:MF_METADATA_PORT (defaults
0.0.0.0:8080), serve /ping, and install no signal handler, as upstream does."""
import os

from services.standin_http import serve

if __name__ == "__main__":
    serve(os.environ.get("MF_METADATA_HOST", "0.0.0.0"), os.environ.get("MF_METADATA_PORT", 8080))
