//! The RPZ by zone transfer (AXFR, RFC 5936) over TCP, for resolvers that take policy zones from
//! a primary server rather than a URL, signed with TSIG (RFC 8945, HMAC-SHA256) when a key is
//! configured. The records are the ones `GET /v1/blocklist/rpz` renders as text.

use std::sync::Arc;

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::State;
use crate::blocklist::{SOA_TIMERS, TTL, ZoneData, ZoneRecord, zone_records};

const TYPE_SOA: u16 = 6;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_TSIG: u16 = 250;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
const CLASS_IN: u16 = 1;
const CLASS_ANY: u16 = 255;
const RCODE_FORMERR: u16 = 1;
const RCODE_NOTAUTH: u16 = 9;
const RCODE_REFUSED: u16 = 5;
/// TSIG error codes (RFC 8945 §3).
const BADSIG: u16 = 16;
const BADKEY: u16 = 17;
const BADTIME: u16 = 18;
/// How far a signed request's time may be from this node's (RFC 8945 recommends 300 s).
const FUDGE: u16 = 300;
/// Records per message: well under 64 KiB with the longest names.
const RECORDS_PER_MESSAGE: usize = 100;

/// A TSIG key: its name and secret, never shown in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    name: Vec<u8>,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey").field("name", &String::from_utf8_lossy(&self.name)).finish_non_exhaustive()
    }
}

impl std::str::FromStr for TsigKey {
    type Err = String;

    /// `NAME:BASE64SECRET`, as `dig -y hmac-sha256:NAME:SECRET` takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, secret) = s.split_once(':').ok_or("a TSIG key is NAME:BASE64-SECRET")?;
        let secret = base64_decode(secret.trim()).ok_or("the TSIG secret is not base64")?;
        if secret.len() < 16 {
            return Err("the TSIG secret must be at least 16 bytes".to_owned());
        }
        let name = wire_name(name.trim().trim_end_matches('.'), "").ok_or("the TSIG key name is not a domain name")?;
        Ok(Self { name, secret })
    }
}

/// Standard base64 (what `dig -y` and BIND key files use), through the base64url decoder.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let url_safe: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            '-' | '_' => '!',
            c => c,
        })
        .collect();
    tocsin_wire::base64url_decode(&url_safe).ok()
}

/// `name` (relative, or empty for the apex) under `origin`, in wire form, lower case.
fn wire_name(name: &str, origin: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for label in name.split('.').chain(origin.split('.')).filter(|l| !l.is_empty()) {
        if label.len() > 63 {
            return None;
        }
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    (out.len() <= 255).then_some(out)
}

/// Reads a name at `at` (no compression: queries carry none); returns it and the next offset.
fn read_name(msg: &[u8], mut at: usize) -> Option<(Vec<u8>, usize)> {
    let mut name = Vec::new();
    loop {
        let len = *msg.get(at)? as usize;
        if len & 0xC0 != 0 {
            return None;
        }
        name.extend_from_slice(msg.get(at..at + 1 + len)?);
        at += 1 + len;
        if len == 0 {
            return Some((name.to_ascii_lowercase(), at));
        }
    }
}

fn u16_at(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(msg.get(at..at + 2)?.try_into().ok()?))
}

/// A parsed request: id, question (wire), type, and the TSIG record if signed.
struct Request<'a> {
    id: u16,
    question: &'a [u8],
    qname: Vec<u8>,
    qtype: u16,
    tsig: Option<Tsig>,
    /// The request without its TSIG record (ARCOUNT decremented), for the MAC.
    unsigned: Vec<u8>,
}

struct Tsig {
    key: Vec<u8>,
    algorithm: Vec<u8>,
    time: u64,
    fudge: u16,
    mac: Vec<u8>,
}

fn parse(msg: &[u8]) -> Option<Request<'_>> {
    let id = u16_at(msg, 0)?;
    let (qd, an, ns, ar) = (u16_at(msg, 4)?, u16_at(msg, 6)?, u16_at(msg, 8)?, u16_at(msg, 10)?);
    if qd != 1 || an != 0 || ns != 0 {
        return None;
    }
    let (qname, at) = read_name(msg, 12)?;
    let qtype = u16_at(msg, at)?;
    let question = msg.get(12..at + 4)?;
    let mut at = at + 4;
    let mut tsig = None;
    let mut unsigned = msg.to_vec();
    // Additional records: an EDNS OPT (dig sends one) is passed over; a TSIG must come last.
    for n in 0..ar {
        let start = at;
        let (owner, next) = read_name(msg, at)?;
        let (rtype, class) = (u16_at(msg, next)?, u16_at(msg, next + 2)?);
        let rdlen = u16_at(msg, next + 8)? as usize;
        let rdata = msg.get(next + 10..next + 10 + rdlen)?;
        at = next + 10 + rdlen;
        if rtype != TYPE_TSIG {
            continue;
        }
        if class != CLASS_ANY || n + 1 != ar || at != msg.len() {
            return None;
        }
        let (algorithm, p) = read_name(rdata, 0)?;
        let time = u64::from_be_bytes([
            0,
            0,
            *rdata.get(p)?,
            *rdata.get(p + 1)?,
            *rdata.get(p + 2)?,
            *rdata.get(p + 3)?,
            *rdata.get(p + 4)?,
            *rdata.get(p + 5)?,
        ]);
        let fudge = u16_at(rdata, p + 6)?;
        let mac_len = u16_at(rdata, p + 8)? as usize;
        let mac = rdata.get(p + 10..p + 10 + mac_len)?.to_vec();
        let original_id = u16_at(rdata, p + 10 + mac_len)?;
        tsig = Some(Tsig { key: owner, algorithm, time, fudge, mac });
        unsigned.truncate(start);
        unsigned[10..12].copy_from_slice(&(ar - 1).to_be_bytes());
        unsigned[0..2].copy_from_slice(&original_id.to_be_bytes());
    }
    (at == msg.len()).then_some(Request { id, question, qname, qtype, tsig, unsigned })
}

fn hmac_alg() -> Vec<u8> {
    wire_name("hmac-sha256", "").expect("a valid name")
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    parts.iter().for_each(|p| m.update(p));
    m.finalize().into_bytes().to_vec()
}

/// The TSIG variables of RFC 8945 §4.3.3 for this node's answers (no error, no other data).
fn tsig_variables(key: &[u8], time: u64) -> Vec<u8> {
    tsig_variables_for(key, &hmac_alg(), time, FUDGE)
}

/// The fields of a TSIG record this node writes.
struct TsigFields<'a> {
    key: &'a [u8],
    algorithm: &'a [u8],
    time: u64,
    fudge: u16,
    mac: &'a [u8],
    original_id: u16,
    error: u16,
    other: &'a [u8],
}

/// Appends a TSIG record to `msg` (incrementing ARCOUNT) for a successful answer.
fn append_tsig(msg: &mut Vec<u8>, key: &[u8], time: u64, mac: &[u8], original_id: u16) {
    let algorithm = hmac_alg();
    append_tsig_record(msg, &TsigFields { key, algorithm: &algorithm, time, fudge: FUDGE, mac, original_id, error: 0, other: &[] });
}

/// Appends a TSIG record with every field given (incrementing ARCOUNT).
fn append_tsig_record(msg: &mut Vec<u8>, f: &TsigFields<'_>) {
    let mut rdata = f.algorithm.to_vec();
    rdata.extend_from_slice(&f.time.to_be_bytes()[2..]);
    rdata.extend_from_slice(&f.fudge.to_be_bytes());
    rdata.extend_from_slice(&(f.mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(f.mac);
    rdata.extend_from_slice(&f.original_id.to_be_bytes());
    rdata.extend_from_slice(&f.error.to_be_bytes());
    rdata.extend_from_slice(&(f.other.len() as u16).to_be_bytes());
    rdata.extend_from_slice(f.other);
    let key = f.key;
    msg.extend_from_slice(key);
    msg.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    msg.extend_from_slice(&rdata);
    let ar = u16_at(msg, 10).unwrap_or(0) + 1;
    msg[10..12].copy_from_slice(&ar.to_be_bytes());
}

fn header(id: u16, rcode: u16, answers: u16, question: &[u8]) -> Vec<u8> {
    let mut msg = id.to_be_bytes().to_vec();
    // QR, opcode QUERY, AA; the rcode.
    msg.extend_from_slice(&(0x8400u16 | rcode).to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    msg.extend_from_slice(&answers.to_be_bytes());
    msg.extend_from_slice(&[0, 0, 0, 0]);
    msg.extend_from_slice(question);
    msg
}

fn record(msg: &mut Vec<u8>, r: &ZoneRecord, origin: &str) -> Option<()> {
    msg.extend_from_slice(&wire_name(r.owner.as_deref().unwrap_or(""), origin)?);
    let (rtype, rdata) = match &r.data {
        ZoneData::Soa(serial) => {
            let mut d = wire_name("localhost", "")?;
            d.extend_from_slice(&wire_name("hostmaster.localhost", "")?);
            d.extend_from_slice(&serial.to_be_bytes());
            SOA_TIMERS.iter().for_each(|t| d.extend_from_slice(&t.to_be_bytes()));
            (TYPE_SOA, d)
        }
        ZoneData::Ns => (TYPE_NS, wire_name("localhost", "")?),
        ZoneData::Cname(target) => (TYPE_CNAME, wire_name(target.as_deref().unwrap_or(""), "")?),
    };
    msg.extend_from_slice(&rtype.to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    msg.extend_from_slice(&TTL.to_be_bytes());
    msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    msg.extend_from_slice(&rdata);
    Some(())
}

/// The messages answering `request`: the whole zone for AXFR (and IXFR, RFC 1995 §4), its SOA
/// for SOA; a refusal otherwise.
async fn answer(state: &State, request: &[u8], origin: &str, key: Option<&TsigKey>) -> Vec<Vec<u8>> {
    let Some(req) = parse(request) else {
        // No question to echo: a bare header.
        let mut msg = u16_at(request, 0).unwrap_or(0).to_be_bytes().to_vec();
        msg.extend_from_slice(&(0x8000u16 | RCODE_FORMERR).to_be_bytes());
        msg.extend_from_slice(&[0; 8]);
        return vec![msg];
    };
    let refuse = |rcode| vec![header(req.id, rcode, 0, req.question)];
    let now = crate::node::time::now_ms() / 1000;
    // With a key configured, only signed requests under it are answered. A request signed with
    // a key or algorithm this node does not have is answered BADKEY, one whose MAC is wrong
    // BADSIG, both unsigned (RFC 8945 §5.2.1, §5.2.2, §5.3.2); one signed out of time BADTIME,
    // signed with the key, carrying this node's time (§5.2.3).
    let request_mac = match (key, &req.tsig) {
        (None, None) => None,
        (Some(_), None) => return refuse(RCODE_REFUSED),
        (None, Some(t)) => return vec![tsig_error(&req, t, BADKEY)],
        (Some(k), Some(t)) => {
            if t.key != k.name || t.algorithm != hmac_alg() {
                return vec![tsig_error(&req, t, BADKEY)];
            }
            let expected = mac(&k.secret, &[&req.unsigned, &tsig_variables_for(&t.key, &t.algorithm, t.time, t.fudge)]);
            if !subtle_eq(&expected, &t.mac) {
                return vec![tsig_error(&req, t, BADSIG)];
            }
            if now.abs_diff(t.time) > u64::from(t.fudge) {
                return vec![bad_time(&req, t, k, now)];
            }
            Some(t.mac.clone())
        }
    };
    if req.qname != wire_name("", origin).unwrap_or_default() || !matches!(req.qtype, TYPE_AXFR | TYPE_IXFR | TYPE_SOA) {
        return refuse(RCODE_REFUSED);
    }
    let (serial, entries) = match state.store.rpz_contents().await {
        Ok(contents) => contents,
        Err(e) => {
            tracing::error!(error = %e, "reading the blocklist for a zone transfer");
            return refuse(2);
        }
    };
    let mut records = zone_records(serial, &entries, state.config.stop_host.as_deref());
    if req.qtype == TYPE_SOA {
        records.truncate(1);
    } else {
        // AXFR ends with the SOA again.
        records.push(records[0].clone());
    }
    let mut messages = Vec::new();
    let mut prior_mac = request_mac;
    for chunk in records.chunks(RECORDS_PER_MESSAGE) {
        let mut msg = header(req.id, 0, chunk.len() as u16, req.question);
        for r in chunk {
            if record(&mut msg, r, origin).is_none() {
                return refuse(2);
            }
        }
        if let (Some(k), Some(prior)) = (key, prior_mac.as_ref()) {
            let prior_len = (prior.len() as u16).to_be_bytes();
            // The first message covers the request's MAC and every TSIG variable; later ones the
            // prior MAC and the timers only (RFC 8945 §5.3.1).
            let digest = if messages.is_empty() {
                mac(&k.secret, &[&prior_len, prior, &msg, &tsig_variables(&k.name, now)])
            } else {
                let mut timers = now.to_be_bytes()[2..].to_vec();
                timers.extend_from_slice(&FUDGE.to_be_bytes());
                mac(&k.secret, &[&prior_len, prior, &msg, &timers])
            };
            append_tsig(&mut msg, &k.name, now, &digest, req.id);
            prior_mac = Some(digest);
        }
        messages.push(msg);
    }
    messages
}

/// An unsigned NOTAUTH answer whose TSIG record carries `error` and an empty MAC, under the
/// request's key name, algorithm and time (RFC 8945 §5.3.2): the client learns why, and nothing
/// is signed with a key this node could not check.
fn tsig_error(req: &Request<'_>, t: &Tsig, error: u16) -> Vec<u8> {
    let mut msg = header(req.id, RCODE_NOTAUTH, 0, req.question);
    let fields =
        TsigFields { key: &t.key, algorithm: &t.algorithm, time: t.time, fudge: t.fudge, mac: &[], original_id: req.id, error, other: &[] };
    append_tsig_record(&mut msg, &fields);
    msg
}

/// A NOTAUTH answer with BADTIME, signed with the request's key (its MAC was right) over the
/// request's MAC, the answer and the TSIG variables; Time Signed is the request's, so the client
/// can check the signature, and Other Data is this node's time (RFC 8945 §5.2.3, §5.3.2), so it
/// can tell how far apart the clocks are.
fn bad_time(req: &Request<'_>, t: &Tsig, k: &TsigKey, now: u64) -> Vec<u8> {
    let msg = header(req.id, RCODE_NOTAUTH, 0, req.question);
    let other = now.to_be_bytes()[2..].to_vec();
    let algorithm = hmac_alg();
    let mut variables = k.name.clone();
    variables.extend_from_slice(&CLASS_ANY.to_be_bytes());
    variables.extend_from_slice(&0u32.to_be_bytes());
    variables.extend_from_slice(&algorithm);
    variables.extend_from_slice(&t.time.to_be_bytes()[2..]);
    variables.extend_from_slice(&t.fudge.to_be_bytes());
    variables.extend_from_slice(&BADTIME.to_be_bytes());
    variables.extend_from_slice(&(other.len() as u16).to_be_bytes());
    variables.extend_from_slice(&other);
    let digest = mac(&k.secret, &[&(t.mac.len() as u16).to_be_bytes(), &t.mac, &msg, &variables]);
    let mut msg = msg;
    let fields = TsigFields {
        key: &k.name,
        algorithm: &algorithm,
        time: t.time,
        fudge: t.fudge,
        mac: &digest,
        original_id: req.id,
        error: BADTIME,
        other: &other,
    };
    append_tsig_record(&mut msg, &fields);
    msg
}

/// [`tsig_variables`] with the request's own algorithm, time and fudge.
fn tsig_variables_for(key: &[u8], algorithm: &[u8], time: u64, fudge: u16) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(&CLASS_ANY.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(algorithm);
    v.extend_from_slice(&time.to_be_bytes()[2..]);
    v.extend_from_slice(&fudge.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v
}

/// Compares secrets (MACs, CSRF codes) in time that does not depend on where they differ.
pub(crate) fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves zone transfers on `listener` until the process ends: one TCP connection per client,
/// any number of length-prefixed queries on it.
pub async fn run_axfr(state: Arc<State>, listener: tokio::net::TcpListener, origin: String, key: Option<TsigKey>) {
    let limits = state.config.limits;
    let places = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (mut conn, peer) = crate::node::listen::accept(&listener).await;
        let Ok(place) = places.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "zone transfer connection closed: too many open");
            continue;
        };
        let (state, origin, key) = (state.clone(), origin.clone(), key.clone());
        tokio::spawn(async move {
            let _place = place;
            loop {
                // Each request, its length and its bytes, must arrive within the header timeout:
                // a client that stops half-way is cut off, not waited for.
                let mut len = [0u8; 2];
                let read = tokio::time::timeout(limits.header_timeout, conn.read_exact(&mut len)).await;
                if !matches!(read, Ok(Ok(_))) {
                    return;
                }
                let mut request = vec![0u8; u16::from_be_bytes(len) as usize];
                if !matches!(tokio::time::timeout(limits.header_timeout, conn.read_exact(&mut request)).await, Ok(Ok(_))) {
                    return;
                }
                for msg in answer(&state, &request, &origin, key.as_ref()).await {
                    let framed = [&(msg.len() as u16).to_be_bytes()[..], &msg].concat();
                    if conn.write_all(&framed).await.is_err() {
                        return;
                    }
                }
                tracing::info!(%peer, "zone transfer answered");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_dig_writes_them_and_never_show_their_secret() {
        let key: TsigKey = "isp-resolver:c2VjcmV0LXNlY3JldC1zZWNyZXQtMzI=".parse().expect("valid");
        assert_eq!(key.secret, b"secret-secret-secret-32");
        assert!(!format!("{key:?}").contains("c2Vj") && !format!("{key:?}").contains("secret-secret"));
        assert!("nocolon".parse::<TsigKey>().is_err() && "k:short".parse::<TsigKey>().is_err() && "k:!!!!".parse::<TsigKey>().is_err());
    }

    #[test]
    fn names_are_written_in_wire_form_under_their_origin() {
        assert_eq!(wire_name("*.Ex", "rpz.tocsin").expect("valid"), b"\x01*\x02ex\x03rpz\x06tocsin\x00");
        assert_eq!(wire_name("", "").expect("the root"), b"\x00");
        assert!(wire_name(&"a".repeat(64), "").is_none());
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let got = mac(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(got.iter().map(|b| format!("{b:02x}")).collect::<String>(), want);
    }
}
