//! What Tocsin reasons about, as types that make wrong states unrepresentable. Today: URLs in
//! Safe Browsing canonical form, the one form in which orders, the gate and blocklists compare
//! them. No I/O, no async.

mod url;

pub use url::{CanonicalUrl, MAX_URL_BYTES, UrlError};

#[doc(hidden)]
/// RFC 3492 Punycode of one label, exposed for the RFC's test vectors.
pub fn punycode_label(label: &str) -> String {
    url::punycode(label)
}
