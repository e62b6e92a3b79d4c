//! Redis-style glob patterns, for `KEYS` and `CONFIG GET`.
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any run of bytes, empty included |
//! | `?` | any one byte |
//! | `[abc]`, `[a-z]` | one byte of the set or range (a reversed range `[z-a]` is the same range) |
//! | `[^abc]` | one byte not in the set |
//! | `\x` | the byte `x` itself, inside or outside brackets |
//!
//! This is a port of redis's `stringmatchlen` (`util.c`), quirks included, so that a pattern
//! selects exactly the keys it selects on redis-server. The quirks, all checked against
//! redis-server 7.0.15 (see the tests):
//!
//! * An unterminated set runs to the end of the pattern: `[abc` matches `a`, and `a[b` matches
//!   `ab`. But a `[` that is the very last byte matches nothing, and neither does `[]`.
//! * `-` is a range only between two bytes: `[-a]` and `[a-]`... except that in `[a-]` the
//!   range is `a` to `]`, which leaves the set unterminated.
//! * `[^]` matches any one byte.
//! * The empty string matches no pattern but the empty one, not even `*`; `KEYS *` lists every
//!   key anyway because redis (and [`Pattern`]) special-cases the pattern `*`.
//!
//! Matching is byte-wise and case-sensitive. Like redis's, it gives up on a `*` as soon as the
//! rest of the pattern failed to match anywhere in the rest of the string (`skipLongerMatches`),
//! which keeps patterns such as `*a*a*a*a*b` from taking exponential time, and it stops (no
//! match) beyond 1000 nested stars.

/// A compiled `KEYS` pattern: either "everything" (the pattern `*`) or a glob.
///
/// ```
/// use kv::glob::Pattern;
///
/// assert!(Pattern::new(b"*").matches(b""));
/// assert!(Pattern::new(b"user:*").matches(b"user:42"));
/// assert!(!Pattern::new(b"user:?").matches(b"user:42"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    bytes: Vec<u8>,
    all: bool,
}

impl Pattern {
    /// The pattern `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Pattern {
        let bytes = bytes.into();
        let all = bytes == b"*";
        Pattern { bytes, all }
    }

    /// Whether `key` matches (every key matches `*`, the empty one included).
    pub fn matches(&self, key: &[u8]) -> bool {
        self.all || matches(&self.bytes, key)
    }

    /// The pattern as given.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Whether `string` matches `pattern`, exactly as redis's `stringmatchlen(pattern, string, 0)`.
///
/// ```
/// use kv::glob::matches;
///
/// assert!(matches(b"h[ae]llo", b"hallo"));
/// assert!(matches(b"h\\*llo", b"h*llo"));
/// assert!(!matches(b"h[^e]llo", b"hello"));
/// assert!(!matches(b"*", b"")); // see Pattern for KEYS *
/// ```
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_at(pattern, string, &mut skip_longer, 0)
}

/// The pattern's byte at `i`; past the end, the NUL that ends every redis string (the C code
/// reads one byte ahead in places, and this keeps its results).
fn at(pattern: &[u8], i: usize) -> u8 {
    pattern.get(i).copied().unwrap_or(0)
}

fn match_at(pattern: &[u8], string: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > 1000 {
        return false;
    }
    // `p`/`s` index the pattern and the string; `plen`/`slen` are what is left of each, as in
    // the C code (where `plen` may run one past the bracket scan and come back).
    let (mut p, mut s) = (0usize, 0usize);
    let mut plen = pattern.len();
    let mut slen = string.len();
    while plen > 0 && slen > 0 {
        match pattern[p] {
            b'*' => {
                while plen > 0 && at(pattern, p + 1) == b'*' {
                    p += 1;
                    plen -= 1;
                }
                if plen == 1 {
                    return true;
                }
                while slen > 0 {
                    if match_at(
                        &pattern[p + 1..p + plen],
                        &string[s..s + slen],
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                    slen -= 1;
                }
                // The rest of the pattern matched nowhere in the rest of the string: a longer
                // match for an earlier star cannot help either.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s += 1;
                slen -= 1;
            }
            b'[' => {
                p += 1;
                plen -= 1;
                let negate = at(pattern, p) == b'^';
                if negate {
                    p += 1;
                    plen -= 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    let b = at(pattern, p);
                    if b == b'\\' && plen >= 2 {
                        p += 1;
                        plen -= 1;
                        if at(pattern, p) == c {
                            matched = true;
                        }
                    } else if b == b']' && plen > 0 {
                        break;
                    } else if plen == 0 {
                        // Unterminated: step back so the step below lands on the end.
                        p -= 1;
                        plen += 1;
                        break;
                    } else if plen >= 3 && at(pattern, p + 1) == b'-' {
                        let (mut start, mut end) = (b, at(pattern, p + 2));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p += 2;
                        plen -= 2;
                        if (start..=end).contains(&c) {
                            matched = true;
                        }
                    } else if b == c {
                        matched = true;
                    }
                    p += 1;
                    plen -= 1;
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
                slen -= 1;
            }
            b => {
                let literal = if b == b'\\' && plen >= 2 {
                    p += 1;
                    plen -= 1;
                    pattern[p]
                } else {
                    b
                };
                if literal != string[s] {
                    return false;
                }
                s += 1;
                slen -= 1;
            }
        }
        p += 1;
        plen -= 1;
        if slen == 0 {
            while at(pattern, p) == b'*' && plen > 0 {
                p += 1;
                plen -= 1;
            }
            break;
        }
    }
    plen == 0 && slen == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string below was stored as a key in redis-server 7.0.15, then `KEYS pattern` was
    /// asked for each pattern; this is what it answered. `Pattern` must select the same keys.
    const STRINGS: &[&str] = &[
        "hello",
        "hallo",
        "hxllo",
        "hllo",
        "heeeello",
        "*",
        "?",
        "[",
        "]",
        "a",
        "ab",
        "aXb",
        "a\\",
        "\\",
        "-",
        "^",
        "",
        "abc",
        "b",
        "c",
        "d",
        "a-",
        "]a",
        "x]",
        "a[",
        "aaa",
        "abab",
        "ba",
        "A",
        "hello world",
        "a*b",
    ];

    #[rustfmt::skip]
    const REDIS_KEYS: &[(&str, &[&str])] = &[
        ("*", STRINGS),
        ("h?llo", &["hello", "hallo", "hxllo"]),
        ("h*llo", &["hello", "hallo", "hxllo", "hllo", "heeeello"]),
        ("h[ae]llo", &["hello", "hallo"]),
        ("h[^e]llo", &["hallo", "hxllo"]),
        ("h[a-b]llo", &["hallo"]),
        ("h[b-a]llo", &["hallo"]),
        ("\\*", &["*"]),
        ("h\\?llo", &[]),
        ("[", &[]),
        ("[abc", &["a", "b", "c"]),
        ("a[", &[]),
        ("[]", &[]),
        ("[]]", &[]),
        ("[^]a]", &[]),
        ("[a-]", &["]", "a", "^"]),
        ("[\\]]", &["]"]),
        ("**a**", &["hallo", "a", "ab", "aXb", "a\\", "abc", "a-", "]a", "a[", "aaa", "abab", "ba", "a*b"]),
        ("*a*b*", &["ab", "aXb", "abc", "abab", "a*b"]),
        ("a\\", &["a\\"]),
        ("\\", &["\\"]),
        ("[\\", &["\\"]),
        ("?", &["*", "?", "[", "]", "a", "\\", "-", "^", "b", "c", "d", "A"]),
        ("??", &["ab", "a\\", "a-", "]a", "x]", "a[", "ba"]),
        ("", &[""]),
        ("[a-c]", &["a", "b", "c"]),
        ("[^a-c]", &["*", "?", "[", "]", "\\", "-", "^", "d", "A"]),
        ("[!a]", &["a"]),
        ("*[", &[]),
        ("a*", &["a", "ab", "aXb", "a\\", "abc", "a-", "a[", "aaa", "abab", "a*b"]),
        ("*b", &["ab", "aXb", "b", "abab", "a*b"]),
        ("\\a", &["a"]),
        ("[\\a]", &["a"]),
        ("*\\*", &["*"]),
        ("a?b", &["aXb", "a*b"]),
        ("[-a]", &["a", "-"]),
        ("[^]", &["*", "?", "[", "]", "a", "\\", "-", "^", "b", "c", "d", "A"]),
        ("[a-c-e]", &["a", "-", "b", "c"]),
        ("h*o w*d", &["hello world"]),
        ("*?*?", &["hello", "hallo", "hxllo", "hllo", "heeeello", "ab", "aXb", "a\\", "abc", "a-", "]a", "x]", "a[", "aaa", "abab", "ba", "hello world", "a*b"]),
        ("[A-Z]", &["A"]),
        ("[[]", &["["]),
        ("\\[", &["["]),
        ("a[b", &["ab"]),
        ("ab*", &["ab", "abc", "abab"]),
        ("[*]", &["*"]),
    ];

    #[test]
    fn selects_the_keys_redis_selects() {
        for (pattern, expected) in REDIS_KEYS {
            let compiled = Pattern::new(pattern.as_bytes());
            let got: Vec<&str> = STRINGS
                .iter()
                .copied()
                .filter(|s| compiled.matches(s.as_bytes()))
                .collect();
            assert_eq!(got, *expected, "KEYS {pattern:?}");
        }
    }

    #[test]
    fn the_documented_examples() {
        // From the KEYS page of the redis documentation.
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h[ae]llo", b"hello"));
        assert!(!matches(b"h[ae]llo", b"hillo"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(!matches(b"h[a-b]llo", b"hcllo"));
    }

    #[test]
    fn binary_keys_and_patterns() {
        assert!(matches(b"\xff*\x00", b"\xff\x01\x02\x00"));
        assert!(matches(b"[\x00-\x10]", b"\x05"));
        assert!(!matches(b"a", b"a\x00"));
    }

    #[test]
    fn pathological_patterns_finish() {
        let string = vec![b'a'; 200];
        let mut pattern = b"*a".repeat(30);
        pattern.push(b'b');
        assert!(!matches(&pattern, &string));
        assert!(matches(&b"*".repeat(5000), b"x"));
    }
}
