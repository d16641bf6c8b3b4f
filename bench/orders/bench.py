#!/usr/bin/env python3
"""Time from issuing a removal order at an authority node to the platform node's gate answering
403 for its URL, one order after another, between two real `tocsin serve` nodes on loopback.

Usage: bench/orders/bench.py TOCSIN_BINARY [sqlite|postgres] [ORDERS]
PostgreSQL: TOCSIN_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) names a
server where two databases are made and dropped. Prints one JSON line with the percentiles.
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
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
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def gate_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def pg_admin(admin_url, sql):
    subprocess.run(["psql", "-q", admin_url, "-c", sql], check=True, env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"})


def main():
    binary = os.path.abspath(sys.argv[1])
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    orders = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    admin_url = os.environ.get("TOCSIN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    procs = []
    databases = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            nodes = {}
            for name, extra in [("authority", ["--role", "authority"]), ("platform", ["--role", "platform", "--serves", "bench.example"])]:
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
            call("POST", a["url"] + "/v1/peers", a["token"], {"url": p["url"], "fingerprint": p["fingerprint"]})
            call("POST", p["url"] + "/v1/peers", p["token"], {"url": a["url"], "fingerprint": a["fingerprint"]})

            times = []
            for i in range(orders):
                target = f"https://bench.example/item/{i}"
                check = p["url"] + "/v1/gate/check?url=" + urllib.parse.quote(target, safe="")
                started = time.perf_counter()
                call("POST", a["url"] + "/v1/orders", a["token"], {
                    "to": "platform", "targets": [{"url": target}], "reasons": ["incite"],
                    "legal_basis": "Regulation (EU) 2021/784, Art. 3",
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
