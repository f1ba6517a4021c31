//! Lexical handling of tar entry names, with Go's `path.Clean` semantics (c/storage cleans names
//! that way, and tar-split detects duplicates on the cleaned name).

/// Go's `path.Clean` on raw bytes: collapse "//", drop ".", resolve ".." lexically (kept at the
/// start of a relative path, dropped at the root of an absolute one); "" becomes ".".
pub fn clean(path: &[u8]) -> Vec<u8> {
    let rooted = path.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|&p| p != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    if rooted {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// Whether a cleaned relative path climbs out of its base ("..", "../x").
pub fn escapes(cleaned: &[u8]) -> bool {
    cleaned == b".." || cleaned.starts_with(b"../")
}

/// Split a cleaned relative path into (parent, base); the parent of a top-level name is ".".
pub fn split(cleaned: &[u8]) -> (&[u8], &[u8]) {
    match cleaned.iter().rposition(|&b| b == b'/') {
        Some(i) => (&cleaned[..i], &cleaned[i + 1..]),
        None => (b".", cleaned),
    }
}

/// Join two cleaned relative paths ("." is the empty path).
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir == b"." {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(dir.len() + 1 + name.len());
    out.extend_from_slice(dir);
    out.push(b'/');
    out.extend_from_slice(name);
    out
}

/// Go's `path.Base`: the last element, ignoring trailing slashes.
pub fn base(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return if path.is_empty() { b"." } else { b"/" },
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_path_clean() {
        let cases: [(&str, &str); 12] = [
            ("", "."),
            ("./", "."),
            ("./a/b/", "a/b"),
            ("a//b/./c", "a/b/c"),
            ("a/../b", "b"),
            ("a/../../b", "../b"),
            ("../x", "../x"),
            ("/abs", "/abs"),
            ("/../..", "/"),
            ("a/b/../..", "."),
            ("..", ".."),
            ("x/..y", "x/..y"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                String::from_utf8(clean(input.as_bytes())).unwrap(),
                expected,
                "clean({input:?})"
            );
        }
        assert!(escapes(b"../x") && escapes(b"..") && !escapes(b"..x") && !escapes(b"a/.."));
    }

    #[test]
    fn split_join_and_base() {
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b"."[..], &b"c"[..]));
        assert_eq!(join(b".", b"x"), b"x");
        assert_eq!(join(b"a", b"x"), b"a/x");
        assert_eq!(base(b"a/b/"), b"b");
        assert_eq!(base(b".wh.x"), b".wh.x");
    }
}
