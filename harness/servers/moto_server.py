"""moto's S3 server on a random loopback port.

    python -m harness.servers.moto_server
prints the port, serves until stdin closes.

The S3 application is served alone, not behind moto's dispatcher of every AWS service
(ThreadedMotoServer), which looks up the service of each request by scanning moto's modules on
disk; only S3 is ever asked for here. It is served by waitress, not by werkzeug's development
server, which closes the connection after every response (a new connection and a new thread for
every reader's every chunk); waitress keeps connections alive. bench/moto_server.py measures the
three: a signed GET took 4.4 ms through the dispatcher, 3.5 ms to the S3 application alone on
werkzeug and 2.8 ms on waitress (the server's CPU time 4.0, 3.0 and 2.4 ms).
"""

import logging
import sys
import threading

from moto.moto_server.werkzeug_app import create_backend_app
from waitress.server import create_server


def with_raw_uri(app):
    """moto takes an object's key from the path as it arrived (RAW_URI, werkzeug's and gunicorn's name),
    not from the decoded PATH_INFO; waitress calls it REQUEST_URI. Without it moto decodes keys twice:
    a client that sends "%25C3%25BC" for a key with "%C3%BC" in it would be served the object "ü"."""
    def call(environ, start_response):
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)
    return call


def serve(threads: int = 8):
    """The S3 application on 127.0.0.1 at a random port, served from a daemon thread."""
    # waitress warns when its task queue fills ("Task queue depth is N"): readers in parallel do that
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(with_raw_uri(create_backend_app("s3")), host="127.0.0.1", port=0, threads=threads)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def main() -> int:
    server = serve()
    print(server.effective_port, flush=True)
    sys.stdin.read()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
