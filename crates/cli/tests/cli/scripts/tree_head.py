"""Checks a node's signed tree head the way docs/protocol.md describes it, with the Python
cryptography package's Ed25519 and hashlib, not with Tocsin's code: fetches the node's key, its
head and every entry, recomputes the RFC 9162 root, rebuilds the 68 signed bytes and verifies
the signature. Prints one line: "verified SIZE", or why not.

Usage: tree_head.py BASE_URL TOKEN
"""

import base64
import hashlib
import json
import struct
import sys
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def tree_hash(leaves):
    """RFC 9162 section 2.1.1: the Merkle tree hash of a list of leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + tree_hash(leaves[:k]) + tree_hash(leaves[k:])).digest()


def main():
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]
    key = get(f"{base}/.well-known/tocsin")["jwk"]
    head = get(f"{base}/v1/log/head", token)
    entries = get(f"{base}/v1/log/entries?start=0&end={head['size']}", token)
    leaves = [hashlib.sha256(b"\x00" + b64url(e["data"])).digest() for e in entries]
    root = tree_hash(leaves) if leaves else hashlib.sha256(b"").digest()
    if root.hex() != head["root"]:
        print("root differs:", root.hex(), head["root"])
        return
    message = b"tocsin tree head v1\n" + struct.pack(">Q", head["size"]) + root + struct.pack(">Q", head["timestamp"])
    assert len(message) == 68
    Ed25519PublicKey.from_public_bytes(b64url(key["x"])).verify(b64url(head["signature"]), message)
    print("verified", head["size"])


main()
