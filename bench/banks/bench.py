#!/usr/bin/env python3
"""/v1/lookup and /v1/scan over HTTP on loopback: requests a second and latency percentiles, with
1 and 2 client connections (one thread each, keep-alive).

Usage: bench.py NODE_URL TOKEN BANK_LINES IMAGE [SECONDS]
  BANK_LINES  the `pdq:HEX` file the bank was imported from: near queries are its hashes with
              5 to 30 bits flipped (they match), random queries nearly all miss
  IMAGE       a JPEG to scan (the test uses Meta's 1152x723 shrink-a-little.jpg)
Prints one line per case: mode, queries, connections, requests, rps, p50, p90, p99, max (ms),
and the verdicts seen. Standard library only.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def near_queries(path, count, rng):
    picks = []
    with open(path) as f:
        for i, line in enumerate(f):
            if len(picks) < count:
                picks.append(line)
            elif rng.random() < count / (i + 1):
                picks[rng.randrange(count)] = line
    out = []
    for line in picks:
        bits = int(line.strip().split(":", 1)[1], 16)
        for b in rng.sample(range(256), rng.randint(5, 30)):
            bits ^= 1 << b
        out.append(f"{bits:064x}")
    return out


def run(url, token, make_request, connections, seconds):
    parsed = urllib.parse.urlparse(url)
    latencies, verdicts, lock = [], {}, threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed):
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port)
        local, seen, n = [], {}, seed
        while time.monotonic() < stop:
            path, body, content_type = make_request(n)
            n += connections
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
            local.append(time.perf_counter() - started)
            verdict = json.loads(data).get("verdict", f"status {response.status}") if response.status == 200 else f"status {response.status}"
            seen[verdict] = seen.get(verdict, 0) + 1
        with lock:
            latencies.extend(local)
            for k, v in seen.items():
                verdicts[k] = verdicts.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    return len(latencies), len(latencies) / elapsed, pct(0.5), pct(0.9), pct(0.99), latencies[-1] * 1000, verdicts


def main():
    url, token, bank_lines, image = sys.argv[1:5]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 10
    rng = random.Random(7)
    near = near_queries(bank_lines, 2000, rng)
    misses = [f"{rng.getrandbits(256):064x}" for _ in range(2000)]
    with open(image, "rb") as f:
        picture = f.read()

    def lookup(queries):
        return lambda n: ("/v1/lookup", json.dumps({"signals": [{"type": "pdq", "value": queries[n % len(queries)]}]}), "application/json")

    cases = [("lookup", "random", lookup(misses)), ("lookup", "near", lookup(near)), ("scan", "image", lambda n: ("/v1/scan", picture, "image/jpeg"))]
    print("mode\tqueries\tconnections\trequests\trps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tverdicts")
    for mode, queries, make in cases:
        for connections in (1, 2):
            n, rps, p50, p90, p99, top, verdicts = run(url, token, make, connections, seconds)
            print(f"{mode}\t{queries}\t{connections}\t{n}\t{rps:.0f}\t{p50:.2f}\t{p90:.2f}\t{p99:.2f}\t{top:.2f}\t{verdicts}", flush=True)


if __name__ == "__main__":
    main()
