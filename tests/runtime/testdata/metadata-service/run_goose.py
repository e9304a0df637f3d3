"""Stand-in for /root/run_goose.py (metaflow-service v2.5.1): read the connection settings from
the environment (lines 53-80) and run the migrations in
/root/services/migration_service/migration_files/ as a child process (lines 93-104). The child
here only reads the files instead of talking to PostgreSQL."""
import os
import subprocess
import sys

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "services", "migration_service", "migration_files")

if __name__ == "__main__":
    for key in ("MF_METADATA_DB_HOST", "MF_METADATA_DB_PORT", "MF_METADATA_DB_USER", "MF_METADATA_DB_NAME"):
        if not os.environ.get(key):
            sys.exit(f"{key} is not set")
    child = subprocess.run([sys.executable, "-c", "import os,sys; [open(os.path.join(sys.argv[1], f)).read() for f in os.listdir(sys.argv[1])]", MIGRATIONS])
    sys.exit(child.returncode)
