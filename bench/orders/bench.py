#!/usr/bin/env python3
"""Time from issuing a removal order at an authority node to the platform node's gate answering
403 for its URL, one order after another, between two real `tocsin serve` nodes on loopback.

Usage: bench/orders/bench.py TOCSIN_BINARY [sqlite|postgres] [ORDERS]
PostgreSQL: TOCSIN_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) names a
server where two databases are made and dropped. Prints one JSON line with the percentiles.
"""

import datetime
import http.server
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data, args):
    port = free_port()
    out = open(os.path.join(data, "stdout"), "w")
    err = open(os.path.join(data, "stderr"), "w")
    proc = subprocess.Popen([binary, "serve", "--data", data, "--listen", f"127.0.0.1:{port}", *args], stdout=out, stderr=err)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"node in {data} did not start")


def run(binary, *args, cwd=None):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True, cwd=cwd).stdout.strip().splitlines()[-1]


def call(method, url, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {url}: {e.code}: {e.read().decode(errors='replace')}") from None


def gate_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


class Origin(http.server.BaseHTTPRequestHandler):
    """The platform's origin: every path is a small page, which the platform preserves once it
    blocks the URL (a platform node needs an origin since TCO Art. 6)."""

    def do_GET(self):
        body = b"<p>removed content</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def pg_admin(admin_url, sql):
    subprocess.run(["psql", "-q", admin_url, "-c", sql], check=True, env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"})


def main():
    binary = os.path.abspath(sys.argv[1])
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    orders = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    admin_url = os.environ.get("TOCSIN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    procs = []
    databases = []
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    origin_url = f"http://127.0.0.1:{origin.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            nodes = {}
            platform = ["--role", "platform", "--serves", "bench.example", "--origin", origin_url]
            for name, extra in [("authority", ["--role", "authority"]), ("platform", platform)]:
                data = os.path.join(tmp, name)
                os.makedirs(data)
                db_args = []
                if backend == "postgres":
                    db = f"tocsin_bench_{name}_{os.getpid()}"
                    pg_admin(admin_url, f"DROP DATABASE IF EXISTS {db}")
                    pg_admin(admin_url, f"CREATE DATABASE {db}")
                    databases.append(db)
                    db_args = ["--database-url", admin_url.rsplit("/", 1)[0] + "/" + db]
                proc, url = start(binary, data, ["--name", name, *extra, *db_args])
                procs.append(proc)
                token = run(binary, "admin", "token", "--data", data, *db_args, "--account", "bench", "--role", "admin", "--role", "issuer")
                fingerprint = call("GET", url + "/.well-known/tocsin")["fingerprint"]
                nodes[name] = {"url": url, "token": token, "fingerprint": fingerprint}
            a, p = nodes["authority"], nodes["platform"]
            call("POST", a["url"] + "/v1/peers", a["token"], {"url": p["url"], "fingerprint": p["fingerprint"], "roles": ["platform"]})
            call("POST", p["url"] + "/v1/peers", p["token"], {"url": a["url"], "fingerprint": a["fingerprint"], "roles": ["authority"]})
            # The particulars that fill Annex I (TCO Art. 3(4)); both in one Member State.
            call("PUT", a["url"] + "/v1/legal", a["token"], {
                "member_state": "NL", "authority_type": "law_enforcement", "representative": "Bench, head of unit",
                "email": "bench@authority.example", "redress_body": "Rechtbank Den Haag", "redress_deadline": "six weeks",
            })
            call("PUT", a["url"] + "/v1/peers/platform/legal", a["token"], {"member_state": "NL"})
            # The platform was told of the authority's procedures two days ago (TCO Art. 3(2)),
            # so the first order may go at once.
            told = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).date().isoformat()
            call("POST", a["url"] + "/v1/peers/platform/information", a["token"], {"given_on": told, "means": "letter"})

            times = []
            for i in range(orders):
                target = f"https://bench.example/item/{i}"
                check = p["url"] + "/v1/gate/check?url=" + urllib.parse.quote(target, safe="")
                started = time.perf_counter()
                call("POST", a["url"] + "/v1/orders", a["token"], {
                    "to": "platform", "targets": [{"url": target}], "reasons": ["incite"],
                    "legal_basis": "Regulation (EU) 2021/784, Art. 3",
                    "statement": "The page calls for attacks.",
                })
                while gate_status(check) != 403:
                    if time.perf_counter() - started > 30:
                        raise SystemExit(f"order {i}: the gate did not block within 30 s")
                    time.sleep(0.001)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            q = statistics.quantiles(times, n=100, method="inclusive")
            print(json.dumps({
                "backend": backend, "orders": orders,
                "p50_ms": round(q[49], 1), "p90_ms": round(q[89], 1), "p99_ms": round(q[98], 1),
                "max_ms": round(times[-1], 1), "mean_ms": round(statistics.mean(times), 1),
            }))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()
            for db in databases:
                pg_admin(admin_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
