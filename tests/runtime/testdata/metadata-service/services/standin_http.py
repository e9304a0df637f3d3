"""Shared HTTP part of the stand-ins: answers GET <prefix>/ping with 200, like the services'
admin APIs (services/metadata_service/api/admin.py:22, services/ui_backend_service/api/admin.py:33
at Netflix/metaflow-service v2.5.1). Everything else is 404."""
import http.server


def serve(host, port, prefix=""):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == prefix + "/ping":
                body = b"pong"
                self.send_response(200)
            else:
                body = b"not found"
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer((host, int(port)), Handler)
    print("serving on", server.server_address, flush=True)
    server.serve_forever()
