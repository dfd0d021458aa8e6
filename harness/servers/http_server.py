"""A static HTTP server over a directory, with Range support (single and suffix
ranges, as werkzeug implements them). Published datasets are symlinks in it.

    python -m harness.servers.http_server ROOT
prints the port, serves until stdin closes.
"""

import sys
import threading
from pathlib import Path

from werkzeug.exceptions import NotFound
from werkzeug.serving import make_server
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response


def app_for(root: Path):
    @Request.application
    def app(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed", status=405)
        rel = request.path.lstrip("/")
        try:
            return send_from_directory(root, rel, request.environ, conditional=True, max_age=0)
        except NotFound:
            return Response("not found", status=404)

    return app


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    server = make_server("127.0.0.1", 0, app_for(root), threaded=True)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
