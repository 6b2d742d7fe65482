/** A monitor stand-in on the database host: records every ping (method, path, body), as healthchecks.io would receive it. */
export const PING_PORT = 8099;
export const PINGS = '/var/tmp/pings.log';

export const STUB = `import http.server
class H(http.server.BaseHTTPRequestHandler):
    def handle_ping(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode('utf-8', 'replace')
        with open('${PINGS}', 'a') as f:
            f.write(self.command + ' ' + self.path + ' ' + body.replace('\\n', ' ') + '\\n')
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'OK')
    do_GET = handle_ping
    do_POST = handle_ping
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', ${PING_PORT}), H).serve_forever()
`;

/** shell: start the stub as a transient unit (it outlives the command that starts it) */
export const startStub = `cat >/var/tmp/ping-stub.py <<'PY'\n${STUB}PY\n: >${PINGS}; systemd-run --unit=ping-stub --quiet python3 /var/tmp/ping-stub.py && for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:${PING_PORT}/ready && : >${PINGS} && exit 0; sleep 0.2; done; exit 1`;
export const stopStub = 'systemctl stop ping-stub';
