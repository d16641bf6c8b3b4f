#!/usr/bin/env python3
"""Investigations between two real `tocsin serve` nodes on loopback (SQLite).

latency: emergency production requests answered through the platform's data provider (a local
HTTP server that answers at once with a small CSV), one after another: time from the
authority's POST /v1/requests to its copy showing `answered` (the package fetched and checked).

package: one production request answered by hand with FILE: the platform node encrypts it as it
streams in (PUT /v1/requests/{id}/files/NAME, curl -T) and signs the manifest (POST .../answer);
timed against the stock `age -r` on the same file, alternating, with the platform node's peak RSS
(VmHWM) after each upload and age's (GNU time).

Usage: bench/investigations/bench.py TOCSIN_BINARY latency [REQUESTS]
       bench/investigations/bench.py TOCSIN_BINARY package FILE [ROUNDS]
Prints JSON lines.
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "orders"))
from bench import call, run, start  # noqa: E402  (the orders bench's node helpers)

CSV = b"account,name,email\nuser-4411,J. Doe,jdoe@example.org\n"


class Provider(http.server.BaseHTTPRequestHandler):
    """The platform's data provider: answers every request at once with one CSV file."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        import base64
        content = base64.urlsafe_b64encode(CSV).decode().rstrip("=")
        body = json.dumps({"files": [{"name": "subscriber.csv", "content_base64url": content}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def pair(binary, tmp, platform_extra):
    nodes, procs = {}, []
    # A platform node needs an origin (for removal orders' evidence); none is fetched here.
    platform = ["--role", "platform", "--origin", "http://127.0.0.1:9/", *platform_extra]
    for name, extra in [("authority", ["--role", "authority"]), ("platform", platform)]:
        data = os.path.join(tmp, name)
        os.makedirs(data)
        proc, url = start(binary, data, ["--name", name, *extra])
        procs.append(proc)
        roles = ["--role", "admin", "--role", "issuer", "--role", "operator"]
        token = run(binary, "admin", "token", "--data", data, "--account", "bench", *roles)
        fingerprint = call("GET", url + "/.well-known/tocsin")["fingerprint"]
        nodes[name] = {"url": url, "token": token, "fingerprint": fingerprint, "pid": proc.pid}
    a, p = nodes["authority"], nodes["platform"]
    call("POST", a["url"] + "/v1/peers", a["token"], {"url": p["url"], "fingerprint": p["fingerprint"], "roles": ["platform"]})
    call("POST", p["url"] + "/v1/peers", p["token"], {"url": a["url"], "fingerprint": a["fingerprint"], "roles": ["authority"]})
    return a, p, procs


def issue(a, emergency):
    return call("POST", a["url"] + "/v1/requests", a["token"], {
        "to": "platform", "kind": "production", "categories": ["subscriber"], "identifiers": ["account:user-4411"],
        "offence": "Art. 5 of Directive (EU) 2017/541", "legal_basis": "Regulation (EU) 2023/1543, Art. 5",
        "emergency": "A threat to life." if emergency else None,
    })["id"]


def state_of(node, id):
    """The request's state, or None while the node has not got it (404)."""
    try:
        return call("GET", f"{node['url']}/v1/requests/{id}", node["token"])["state"]
    except SystemExit as e:
        if ": 404:" in str(e):
            return None
        raise


def wait(node, id, state, limit=60):
    started = time.perf_counter()
    while state_of(node, id) != state:
        if time.perf_counter() - started > limit:
            raise SystemExit(f"request {id} not {state} within {limit} s")
        time.sleep(0.002)


def latency(binary, requests):
    provider = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        a, _, procs = pair(binary, tmp, ["--data-provider", f"http://127.0.0.1:{provider.server_address[1]}/"])
        try:
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                id = issue(a, True)
                wait(a, id, "answered")
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            q = statistics.quantiles(times, n=100, method="inclusive")
            print(json.dumps({
                "mode": "latency", "requests": requests, "p50_ms": round(q[49], 1), "p90_ms": round(q[89], 1),
                "p99_ms": round(q[98], 1), "max_ms": round(times[-1], 1), "mean_ms": round(statistics.mean(times), 1),
            }))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])


def package(binary, file, rounds):
    size = os.path.getsize(file)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        a, p, procs = pair(binary, tmp, [])
        try:
            recipient = call("GET", a["url"] + "/.well-known/tocsin")["package_recipient"]
            print(json.dumps({"mode": "package", "bytes": size, "platform_rss_kb_at_start": vm_hwm_kb(p["pid"])}))
            for n in range(1, rounds + 1):
                id = issue(a, False)
                wait(p, id, "received")
                started = time.perf_counter()
                subprocess.run(["curl", "-sSf", "-o", "/dev/null", "-T", file, "-H", f"Authorization: Bearer {p['token']}",
                                f"{p['url']}/v1/requests/{id}/files/big.bin"], check=True)
                uploaded = time.perf_counter()
                call("POST", f"{p['url']}/v1/requests/{id}/answer", p["token"], {})
                seconds = time.perf_counter() - started
                print(json.dumps({"upload_s": round_(uploaded - started), "sign_and_answer_s": round_(seconds - (uploaded - started))}))
                print(json.dumps({"tool": "tocsin node (encrypt, hash, sign manifest)", "round": n, "seconds": round_(seconds),
                                  "MB_per_s": round(size / 1e6 / seconds), "peak_rss_kb": vm_hwm_kb(p["pid"])}))
                subprocess.run(["sync"], check=True)
                out = os.path.join(tmp, "out.age")
                timing = os.path.join(tmp, "time")
                started = time.perf_counter()
                subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timing, "age", "-r", recipient, "-o", out, file], check=True)
                seconds = time.perf_counter() - started
                with open(timing) as f:
                    rss = int(f.read().split()[-1])
                print(json.dumps({"tool": "age -r", "round": n, "seconds": round_(seconds),
                                  "MB_per_s": round(size / 1e6 / seconds), "peak_rss_kb": rss}))
                os.remove(out)
                subprocess.run(["sync"], check=True)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()


def round_(x):
    return round(x, 2)


def main():
    binary = os.path.abspath(sys.argv[1])
    mode = sys.argv[2]
    if mode == "latency":
        latency(binary, int(sys.argv[3]) if len(sys.argv) > 3 else 100)
    elif mode == "package":
        package(binary, sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 3)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
