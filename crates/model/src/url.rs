//! URLs in the one form every node compares them in: Google Safe Browsing's canonicalisation
//! (legal-requirements §7), so that an order's target, the platform's gate and a blocklist entry
//! agree on what "the same URL" is however it was typed or escaped.
//!
//! Steps, in the order the Safe Browsing documentation gives them: trim surrounding spaces;
//! drop tab, CR and LF; drop the fragment; percent-unescape until nothing is left to unescape;
//! split scheme, host, path and query (a missing scheme means `http`); host: drop user info and
//! port, strip and collapse dots, IPv4 in any legal encoding to dotted decimal, lowercase,
//! non-ASCII labels to Punycode; path: resolve `.` and `..`, collapse `//`, at least `/`; the query
//! is kept as it came. Finally bytes up to 0x20, from 0x7F, `#` and `%` are escaped, with
//! uppercase hex.

use std::fmt;

/// Why a string is not a URL that can be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Nothing left once spaces, tabs and line breaks are gone.
    #[error("the URL is empty")]
    Empty,
    /// A scheme other than http and https.
    #[error("scheme {0:?}: only http and https URLs can be ordered, gated or blocked")]
    Scheme(String),
    /// No host between the scheme and the path.
    #[error("the URL has no host")]
    NoHost,
    /// Longer than any real URL (and than browsers accept).
    #[error("the URL is longer than {MAX_URL_BYTES} bytes")]
    TooLong,
}

/// The longest URL accepted, in bytes, before canonicalisation.
pub const MAX_URL_BYTES: usize = 8192;

/// A URL in Safe Browsing canonical form: `scheme://host/path[?query]`, ASCII only. Made only by
/// [`CanonicalUrl::parse`], so two equal values name the same resource for every node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CanonicalUrl {
    text: String,
    /// Byte ranges of the host and of the path-and-query within `text`.
    host: (usize, usize),
}

impl CanonicalUrl {
    /// Canonicalises `input` (raw bytes: what arrives need not be UTF-8).
    pub fn parse(input: impl AsRef<[u8]>) -> Result<Self, UrlError> {
        canonicalize(input.as_ref())
    }

    /// The canonical URL.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical host (lowercase, no port).
    pub fn host(&self) -> &str {
        &self.text[self.host.0..self.host.1]
    }

    /// The path and query, starting with `/`.
    pub fn path_and_query(&self) -> &str {
        &self.text[self.host.1..]
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.text[..self.host.0 - 3]
    }

    /// The `host/path` expressions under which a list entry covers this URL, as Safe Browsing
    /// looks a URL up: every host suffix of two labels or more (only the host itself for an IP
    /// address), each with the path and query, the path without the query, and every directory
    /// from the root down (at most [`MAX_DIRECTORY_PREFIXES`] of them; Safe Browsing stops at
    /// four, but an order may name a deeper folder). An entry made from a URL is
    /// [`CanonicalUrl::expression`]: so an entry without a query covers every query on its path,
    /// and an entry ending in `/` covers everything below it.
    pub fn expressions(&self) -> Vec<String> {
        let host = self.host();
        let is_ip = host.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let mut hosts = vec![host];
        if !is_ip {
            let mut rest = host;
            while let Some((_, tail)) = rest.split_once('.') {
                if !tail.contains('.') {
                    break;
                }
                hosts.push(tail);
                rest = tail;
            }
        }
        let full = self.path_and_query();
        let path = full.split_once('?').map_or(full, |(path, _)| path);
        let mut paths = vec![full];
        if path != full {
            paths.push(path);
        }
        let mut end = 0;
        for _ in 0..MAX_DIRECTORY_PREFIXES {
            let Some(slash) = path[end..].find('/') else { break };
            end += slash + 1;
            let prefix = &path[..end];
            if prefix != path {
                paths.push(prefix);
            }
        }
        let mut out = Vec::with_capacity(hosts.len() * paths.len());
        for h in &hosts {
            for p in &paths {
                out.push(format!("{h}{p}"));
            }
        }
        out
    }

    /// This URL as a list entry: `host/path[?query]`, without the scheme (the same content is
    /// listed over http and https).
    pub fn expression(&self) -> String {
        format!("{}{}", self.host(), self.path_and_query())
    }
}

/// How many directory prefixes [`CanonicalUrl::expressions`] gives, from the root down: bounds
/// the work a request with a very deep path costs, while an entry for a folder nearer the root
/// than that is always found.
pub const MAX_DIRECTORY_PREFIXES: usize = 32;

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for CanonicalUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn canonicalize(input: &[u8]) -> Result<CanonicalUrl, UrlError> {
    if input.len() > MAX_URL_BYTES {
        return Err(UrlError::TooLong);
    }
    let trimmed = input.trim_ascii();
    let mut url: Vec<u8> = trimmed.iter().copied().filter(|b| !matches!(b, b'\t' | b'\r' | b'\n')).collect();
    if let Some(hash) = url.iter().position(|&b| b == b'#') {
        url.truncate(hash);
    }
    let url = unescape_fully(url);
    if url.is_empty() {
        return Err(UrlError::Empty);
    }

    let (scheme, rest) = match find(&url, b"://") {
        Some(at) => (url[..at].to_ascii_lowercase(), &url[at + 3..]),
        None => {
            if let Some(scheme) = scheme_without_slashes(&url) {
                return Err(UrlError::Scheme(String::from_utf8_lossy(&scheme.to_ascii_lowercase()).into_owned()));
            }
            (b"http".to_vec(), &url[..])
        }
    };
    if scheme != b"http" && scheme != b"https" {
        return Err(UrlError::Scheme(String::from_utf8_lossy(&scheme).into_owned()));
    }
    let authority_end = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (path, query) = match tail.iter().position(|&b| b == b'?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };

    let host = canonical_host(authority);
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let mut text = String::with_capacity(url.len() + 16);
    text.push_str(if scheme == b"https" { "https" } else { "http" });
    text.push_str("://");
    let host_start = text.len();
    escape_into(&host, &mut text);
    let host_end = text.len();
    escape_into(&canonical_path(path), &mut text);
    if let Some(query) = query {
        text.push('?');
        escape_into(query, &mut text);
    }
    Ok(CanonicalUrl { text, host: (host_start, host_end) })
}

/// The scheme of a URL written without `//` (`javascript:alert(1)`, `data:text/html,...`,
/// `mailto:x`), which Safe Browsing's "no scheme means http" rule would otherwise read as a host
/// and a port, as a browser reads them. `host:8080/path` and `host:/path` are hosts with ports.
fn scheme_without_slashes(url: &[u8]) -> Option<&[u8]> {
    let authority_end = url.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(url.len());
    let authority = &url[..authority_end];
    let colon = authority.iter().position(|&b| b == b':')?;
    let (name, port) = (&authority[..colon], &authority[colon + 1..]);
    let is_scheme = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (is_scheme && !port.iter().all(u8::is_ascii_digit)).then_some(name)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-unescapes until a pass changes nothing. Each pass shortens the input, so this ends.
fn unescape_fully(mut url: Vec<u8>) -> Vec<u8> {
    loop {
        let mut out = Vec::with_capacity(url.len());
        let mut i = 0;
        while i < url.len() {
            if url[i] == b'%'
                && i + 2 < url.len()
                && let (Some(hi), Some(lo)) = (hex_value(url[i + 1]), hex_value(url[i + 2]))
            {
                out.push(hi << 4 | lo);
                i += 3;
            } else {
                out.push(url[i]);
                i += 1;
            }
        }
        if out.len() == url.len() {
            return out;
        }
        url = out;
    }
}

/// Bytes up to 0x20, from 0x7F, `#` and `%` as `%XX`; the rest as they are (all ASCII).
fn escape_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%' {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
}

fn canonical_host(authority: &[u8]) -> Vec<u8> {
    // User info is not part of where the content lives.
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    // A port, then stray dots, until neither is left: stripping one can expose the other
    // (`a:1.:2`), and a canonical form must canonicalise to itself.
    let mut dotted = host.to_vec();
    loop {
        let before = dotted.len();
        if let Some(colon) = dotted.iter().rposition(|&b| b == b':')
            && dotted[colon + 1..].iter().all(u8::is_ascii_digit)
        {
            dotted.truncate(colon);
        }
        dotted = collapse_dots(&dotted);
        if dotted.len() == before {
            break;
        }
    }
    // An IPv6 literal is the whole host once port and dots are gone: judged on what is left, so
    // that `.[::1]` and `[]x` read the same the first time and the second.
    if let Some(inside) = dotted.strip_prefix(b"[").and_then(|v6| v6.strip_suffix(b"]")) {
        return canonical_ipv6(inside);
    }
    if let Some(ip) = parse_ipv4(&dotted) {
        return ip.to_string().into_bytes();
    }
    match std::str::from_utf8(&dotted) {
        Ok(text) if !text.is_ascii() => to_punycode_host(&text.to_lowercase()).into_bytes(),
        _ => dotted.to_ascii_lowercase(),
    }
}

/// Leading and trailing dots stripped, runs of dots made one.
fn collapse_dots(host: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(host.len());
    for &b in host {
        if b == b'.' && (out.is_empty() || out.last() == Some(&b'.')) {
            continue;
        }
        out.push(b);
    }
    while out.last() == Some(&b'.') {
        out.pop();
    }
    out
}

fn canonical_ipv6(inside: &[u8]) -> Vec<u8> {
    let Some(addr) = std::str::from_utf8(inside).ok().and_then(|t| t.parse::<std::net::Ipv6Addr>().ok()) else {
        return [b"[", &inside.to_ascii_lowercase()[..], b"]"].concat();
    };
    // IPv4-mapped and NAT64 (64:ff9b::/96) addresses name an IPv4 host.
    let s = addr.segments();
    if let Some(v4) = addr.to_ipv4_mapped() {
        return v4.to_string().into_bytes();
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return std::net::Ipv4Addr::new(a, b, c, d).to_string().into_bytes();
    }
    format!("[{addr}]").into_bytes()
}

/// An IPv4 address in any encoding `inet_aton` takes: one to four parts, each decimal, octal
/// (leading `0`) or hex (`0x`), the last filling the remaining bytes.
fn parse_ipv4(host: &[u8]) -> Option<std::net::Ipv4Addr> {
    let text = std::str::from_utf8(host).ok()?;
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let lower = part.to_ascii_lowercase();
        let value = if let Some(hex) = lower.strip_prefix("0x") {
            if hex.is_empty() { 0 } else { u64::from_str_radix(hex, 16).ok()? }
        } else if lower.len() > 1 && lower.starts_with('0') {
            u64::from_str_radix(&lower[1..], 8).ok()?
        } else {
            if lower.is_empty() || !lower.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            lower.parse::<u64>().ok()?
        };
        values.push(value);
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|&v| v > 255) {
        return None;
    }
    let room = 8 * (4 - leading.len() as u32);
    if room < 64 && *last >= 1u64 << room {
        return None;
    }
    let mut address = *last;
    for (i, &v) in leading.iter().enumerate() {
        address |= v << (24 - 8 * i as u32);
    }
    Some(std::net::Ipv4Addr::from(u32::try_from(address).ok()?))
}

fn canonical_path(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    let pieces: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        match *piece {
            b"" if !last => {}
            b"." => {
                if last {
                    segments.push(b"");
                }
            }
            b".." => {
                segments.pop();
                if last {
                    segments.push(b"");
                }
            }
            other => segments.push(other),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for segment in segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Each label of a lowercased host that is not ASCII, as `xn--` and its Punycode (RFC 3492).
fn to_punycode_host(host: &str) -> String {
    host.split('.')
        .map(|label| if label.is_ascii() { label.to_owned() } else { format!("xn--{}", punycode(label)) })
        .collect::<Vec<_>>()
        .join(".")
}

/// RFC 3492's encoder, with its parameters (§5).
pub(crate) fn punycode(input: &str) -> String {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
        delta /= if first { DAMP } else { 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    fn digit(d: u32) -> char {
        char::from(if d < 26 { b'a' + d as u8 } else { b'0' + (d - 26) as u8 })
    }
    let code_points: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = output.len() as u32;
    let mut handled = basic;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (handled as usize) < code_points.len() {
        let m = code_points.iter().copied().filter(|&c| c >= n).min().unwrap_or(n);
        delta = delta.saturating_add((m - n).saturating_mul(handled + 1));
        n = m;
        for &c in &code_points {
            if c < n {
                delta = delta.saturating_add(1);
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    output
}
