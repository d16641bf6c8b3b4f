//! The `multipart/form-data` bodies (RFC 7578) that a browser sends for a form with files: read
//! whole, up to a bound the caller sets, and cut into parts. Only what the console's forms need:
//! each part's `name`, its `filename` if it has one, and its bytes.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// The form field's name.
    pub name: String,
    /// The file's name as the browser gave it, for a file field (the last path component only).
    pub filename: Option<String>,
    /// The part's content.
    pub content: Vec<u8>,
}

/// The boundary named in a `Content-Type: multipart/form-data; boundary=...` header.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && (1..=70).contains(&value.len())).then(|| value.to_owned())
    })
}

/// A parameter of a `Content-Disposition` header (`name="files"`), unquoted.
fn parameter(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').replace("\\\"", "\""))
    })
}

/// The parts of `body`, or `None` if it is not a well-formed multipart body with `boundary`.
pub(crate) fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let first = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    // The preamble ends at the first boundary line.
    let start = memchr::memmem::find(body, first.as_bytes())?;
    let mut rest = &body[start + first.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = memchr::memmem::find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content_start = head_end + 4;
        let end = content_start + finder.find(&rest[content_start..])?;
        let disposition = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("content-disposition").then(|| value.trim().to_owned())
        })?;
        let filename = parameter(&disposition, "filename").map(|f| f.rsplit(['/', '\\']).next().unwrap_or_default().to_owned());
        parts.push(Part { name: parameter(&disposition, "name")?, filename, content: rest[content_start..end].to_vec() });
        rest = &rest[end + delimiter.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_form_with_two_files_and_a_field_is_cut_into_its_parts() {
        let body = b"ignored preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"C:\\\\Users\\\\a\\\\subscriber.csv\"\r\n\
            Content-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.bin\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\x00\r\n--X\xff\r\n--XyZ--\r\n";
        let parts = parts(body, "XyZ").expect("parts");
        assert_eq!(parts.len(), 3);
        assert_eq!((parts[0].name.as_str(), parts[0].filename.as_deref(), &parts[0].content[..]), ("csrf", None, &b"abc"[..]));
        assert_eq!(parts[1].filename.as_deref(), Some("subscriber.csv"), "the last path component only");
        assert_eq!(parts[1].content, b"a,b\r\n1,2\r\n", "line breaks inside a file are the file's");
        assert_eq!(parts[2].content, b"\x00\r\n--X\xff", "a partial boundary inside a file is content");
    }

    #[test]
    fn bodies_that_are_not_multipart_are_refused() {
        assert_eq!(boundary("multipart/form-data; boundary=\"a b\""), Some("a b".to_owned()));
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert!(parts(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "XyZ").is_none(), "cut short");
        assert!(parts(b"no boundary at all", "XyZ").is_none());
        assert!(parts(b"--XyZ\r\nX-Other: 1\r\n\r\nv\r\n--XyZ--", "XyZ").is_none(), "a part without a name");
        assert_eq!(parts(b"--XyZ--\r\n", "XyZ"), Some(vec![]));
    }
}
