"""moto's S3 server on a random loopback port.

    python -m harness.servers.moto_server
prints the port, serves until stdin closes.

The S3 application is served alone, not behind moto's dispatcher of every AWS service
(ThreadedMotoServer): the dispatcher looks up the service of each request by scanning moto's
modules on disk, which took five sixths of the time of a GET (measured: 3.6 ms a GET through the
dispatcher, 0.6 ms to the S3 application). Only S3 is ever asked for here.
"""

import sys
import threading

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class _Handler(MotoRequestHandler):
    def log_request(self, *args, **kwargs):  # a line per request, by the hundred thousand; errors are still logged
        pass


def main() -> int:
    server = make_server("127.0.0.1", 0, create_backend_app("s3"), threaded=True, request_handler=_Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
