# The task check of `metaflow-azure verify`: runs in a pod of the task namespace, as the task
# ServiceAccount, with the task image, where a Metaflow step would run. It proves what a step
# needs: a workload identity token (injected by the webhook), a blob written and read back under
# the datastore root, and a run registered with the metadata service. It prints one JSON line.
# Only the Python packages the README's task image installs are used.
import json
import os
import sys
import urllib.request
import uuid


def main():
    endpoint = os.environ["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"]
    container, _, prefix = os.environ["METAFLOW_DATASTORE_SYSROOT_AZURE"].partition("/")
    service = os.environ["METAFLOW_SERVICE_URL"].rstrip("/")
    check_id = os.environ.get("VERIFY_ID") or uuid.uuid4().hex
    result = {"id": check_id}

    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        if not os.environ.get(key):
            raise SystemExit("no %s: the workload identity webhook did not inject the task identity" % key)

    # As Metaflow's Azure datastore signs in (DefaultAzureCredential).
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import BlobServiceClient

    credential = DefaultAzureCredential()
    token = credential.get_token("https://storage.azure.com/.default")
    result["token"] = bool(token.token)

    blob_name = "%s/.metaflow-azure-verify/%s" % (prefix, check_id)
    blob = BlobServiceClient(endpoint, credential=credential).get_blob_client(container, blob_name)
    payload = ("metaflow-azure verify " + check_id).encode()
    blob.upload_blob(payload, overwrite=True)
    if blob.download_blob().readall() != payload:
        raise SystemExit("the blob read back differs from what was written")
    blob.delete_blob()
    result["blob"] = "%s/%s" % (container, blob_name)

    def post(path, body):
        req = urllib.request.Request(service + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    user = "metaflow-azure-verify"
    post("/flows/MetaflowAzureVerify", {"user_name": user})
    run = post("/flows/MetaflowAzureVerify/run", {"user_name": user, "tags": [], "system_tags": ["verify:" + check_id]})
    result["run"] = "MetaflowAzureVerify/%s" % run.get("run_number")
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # one line the CLI can show
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)
