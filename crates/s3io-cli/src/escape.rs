//! Names as printed: every key, bucket and path in a message or output line goes through here,
//! so that a key holding a line break or a terminal escape cannot forge a line of output or
//! repaint the terminal.
//!
//! Control characters become Rust-style escapes (`\n`, `\t`, `\u{1b}`); bytes of a file name
//! that are not UTF-8 become `\xNN`, so such a file is named rather than shown as `�`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// `text` with its control characters escaped (borrowed when there are none).
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    push_escaped(&mut escaped, text);
    Cow::Owned(escaped)
}

/// `path` as text: control characters escaped, bytes that are not UTF-8 as `\xNN`.
pub(crate) fn path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut escaped = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        push_escaped(&mut escaped, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(escaped, "\\x{byte:02x}");
        }
    }
    escaped
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;

    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(text("plain/key é"), "plain/key é");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
        assert_eq!(text("a\nb\r\tc\u{1b}[2J\u{7f}"), "a\\nb\\r\\tc\\u{1b}[2J\\u{7f}");
    }

    #[test]
    fn non_utf8_bytes_are_named() {
        let name = Path::new(OsStr::from_bytes(b"dir/bad\xff\xfename\n.txt"));
        assert_eq!(path(name), "dir/bad\\xff\\xfename\\n.txt");
    }
}
