#!/usr/bin/env python3
"""A static file server on 127.0.0.1 for the fetch tests: logs every GET to a
file, and with --die-in NAME dies (os._exit) halfway through sending the file
whose path ends in NAME, after announcing its full length, as a killed server
would.

Usage: mirror_server.py ROOT PORT_FILE LOG_FILE [--die-in NAME]"""
import functools
import http.server
import os
import sys

root, port_file, log_file = sys.argv[1:4]
die_in = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--die-in" else None


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        with open(log_file, "a") as log:
            log.write(self.path + "\n")
        if die_in and self.path.endswith(die_in):
            path = self.translate_path(self.path)
            data = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            os._exit(1)
        return super().do_GET()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
