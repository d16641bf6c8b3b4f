"""TSIG error answers (RFC 8945 section 5.2) as dnspython, an independent implementation, reads
them: asks for the zone with an unknown key, a wrong secret and a clock 1,000 s off, and prints
what each answer says, one line each. The BADTIME answer's MAC is also checked here, from the
RFC's definition of what is signed (section 5.3.2), since dnspython stops at the error code.

Usage: tsig_errors.py PORT ZONE KEYNAME SECRET_BASE64 OTHER_SECRET_BASE64
"""

import base64
import hashlib
import hmac
import socket
import struct
import sys
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def exchange(port, wire):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        (length,) = struct.unpack("!H", recv_exactly(sock, 2))
        return recv_exactly(sock, length)


def ask(port, zone, keyname, secret, shift=0):
    keyring = dns.tsigkeyring.from_text({keyname: secret})
    query = dns.message.make_query(zone, dns.rdatatype.AXFR)
    query.use_tsig(keyring, keyname=keyname, algorithm=dns.tsig.HMAC_SHA256)
    real = time.time
    time.time = lambda: real() + shift
    try:
        wire = query.to_wire()
    finally:
        time.time = real
    answer = exchange(port, wire)
    try:
        dns.message.from_wire(answer, keyring=keyring, request_mac=query.mac)
        outcome = "ok"
    except dns.tsig.PeerBadKey:
        outcome = "BADKEY"
    except dns.tsig.PeerBadSignature:
        outcome = "BADSIG"
    except dns.tsig.PeerBadTime:
        outcome = "BADTIME"
    (flags,) = struct.unpack("!H", answer[2:4])
    return outcome, dns.rcode.to_text(flags & 0xF), query.mac, answer


def read_name(wire, at):
    """A name in wire form starting at `at` (no compression in these answers): its bytes, the end."""
    start = at
    while wire[at] != 0:
        at += 1 + wire[at]
    return wire[start : at + 1], at + 1


def tsig_record(answer):
    """The TSIG record at the end of an answer with one question and no answer records."""
    _, at = read_name(answer, 12)
    at += 4
    tsig_start = at
    owner, at = read_name(answer, at)
    at += 10  # type, class, TTL, RDLENGTH
    algorithm, at = read_name(answer, at)
    time_signed = int.from_bytes(answer[at : at + 6], "big")
    fudge, mac_len = struct.unpack("!HH", answer[at + 6 : at + 10])
    at += 10
    mac = answer[at : at + mac_len]
    at += mac_len
    original_id, error, other_len = struct.unpack("!HHH", answer[at : at + 6])
    other = answer[at + 6 : at + 6 + other_len]
    return dict(
        start=tsig_start, owner=owner, algorithm=algorithm, time=time_signed, fudge=fudge,
        mac=mac, original_id=original_id, error=error, other=other,
    )


def badtime_mac_verifies(secret, request_mac, answer):
    t = tsig_record(answer)
    unsigned = bytearray(answer[: t["start"]])
    (arcount,) = struct.unpack("!H", unsigned[10:12])
    unsigned[10:12] = struct.pack("!H", arcount - 1)
    variables = (
        t["owner"] + struct.pack("!HI", 255, 0) + t["algorithm"] + t["time"].to_bytes(6, "big")
        + struct.pack("!HHH", t["fudge"], t["error"], len(t["other"])) + t["other"]
    )
    signed = struct.pack("!H", len(request_mac)) + request_mac + bytes(unsigned) + variables
    expected = hmac.new(base64.b64decode(secret), signed, hashlib.sha256).digest()
    return hmac.compare_digest(expected, t["mac"]), t


def main():
    port, zone, keyname, secret, other_secret = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    outcome, rcode, _, answer = ask(port, zone, "stranger-key", secret)
    print("unknown key:", outcome, rcode, "mac-size", len(tsig_record(answer)["mac"]))
    outcome, rcode, _, answer = ask(port, zone, keyname, other_secret)
    print("wrong secret:", outcome, rcode, "mac-size", len(tsig_record(answer)["mac"]))
    outcome, rcode, request_mac, answer = ask(port, zone, keyname, secret, shift=-1000)
    verified, t = badtime_mac_verifies(secret, request_mac, answer)
    server_time = int.from_bytes(t["other"], "big") if len(t["other"]) == 6 else -1
    print("late clock:", outcome, rcode, "signed" if verified else "unsigned",
          "server-time-off", abs(server_time - int(time.time())) <= 5,
          "time-signed-is-request's", abs(t["time"] - (int(time.time()) - 1000)) <= 5)
    outcome, rcode, _, _ = ask(port, zone, keyname, secret)
    print("right key:", outcome, rcode)


main()
