//! HTML for the pages the node builds itself (the console, the notice, the stop page, the problem
//! types): text escaped where it goes into markup.

/// `text` made safe inside element content and double-quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
