//! RESP2, the Redis serialization protocol: an incremental request parser and a reply encoder.
//!
//! # Requests
//!
//! Clients send either an *array of bulk strings* (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what every
//! client library and `redis-cli` send) or an *inline command*, one line of words (`GET k\r\n`,
//! what telnet and `redis-cli` piped input send). [`Parser::parse`] reads one request from the
//! front of a byte buffer and answers:
//!
//! * `Ok(None)`: incomplete, read more and call again;
//! * `Ok(Some((args, consumed)))`: a request, and how many bytes of the buffer it took (an empty
//!   `args` is an empty request, `*0\r\n` or a blank line, which redis ignores);
//! * `Err(ProtocolError)`: malformed input. The error's text is exactly what redis-server 7.0
//!   answers (`ERR Protocol error: invalid bulk length`); redis then closes the connection, and
//!   so does ours.
//!
//! The parser is resumable, like redis's own (`multibulklen`/`bulklen` in its client struct): a
//! half-received array keeps the arguments already parsed, so a request arriving a few bytes at
//! a time costs linear time. The contract: after `Ok(None)`, call again with the same buffer,
//! extended; after a request, the caller drops `consumed` bytes from the front (or calls with
//! the rest).
//!
//! The details follow redis's `processMultibulkBuffer` and `processInlineBuffer`, checked
//! against redis-server 7.0.15:
//!
//! * Header lines end at the first `\r`, and the byte after it is skipped unchecked; the two
//!   bytes after a bulk string's data are skipped unchecked too (`$4\r\nPINGxx` is a `PING`).
//! * Numbers follow `string2ll`: an optional `-`, no `+`, no blanks, no leading zeros.
//! * A header line or inline request longer than 64 KiB without its terminator is an error
//!   ([`INLINE_MAX`]).
//! * Limits: a bulk string longer than [`Limits::max_bulk_len`] (redis's
//!   `proto-max-bulk-len`, 512 MiB) or negative is `invalid bulk length`; an array longer than
//!   [`Limits::max_array_len`] (redis: `INT_MAX`) is `invalid multibulk length`.
//! * Inline requests are split as `sdssplitargs` does: blanks separate words, `"..."` takes
//!   `\n \r \t \b \a \xHH` escapes, `'...'` takes only `\'`, and a closing quote must be
//!   followed by a blank. A NUL byte ends the line, as it ends a C string.
//!
//! One difference: redis looks for line ends with `strchr`, which stops at a NUL byte, so a NUL
//! inside a header line makes it wait for more input; here a NUL is a byte like any other.
//!
//! # Replies
//!
//! [`Reply`] is what a server answers: simple strings, errors, integers, bulk strings, the null
//! bulk string, arrays. [`Reply::encode`] writes one; the `encode_*` functions write one
//! without building a `Reply` first (the hot path). [`Reply::decode`] reads one back, for
//! clients and tests. Errors and simple strings cannot hold `\r` or `\n`: the encoder turns them
//! into spaces, as redis does for error messages.

use std::{borrow::Cow, fmt};

/// How long a header line (`*3`, `$5`) or an inline request may be before its line end: 64 KiB,
/// redis's `PROTO_INLINE_MAX_SIZE`.
pub const INLINE_MAX: usize = 64 * 1024;

/// Size limits on requests.
///
/// ```
/// let limits = kv::resp::Limits::default();
/// assert_eq!(limits.max_bulk_len, 512 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string accepted, in bytes (redis's `proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// The most elements an array may announce (redis: `INT_MAX`).
    pub max_array_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_array_len: i32::MAX as usize,
        }
    }
}

impl Limits {
    /// No limits beyond the address space: for replaying a file this server wrote itself, which
    /// may hold values accepted under an earlier, larger limit.
    pub fn unlimited() -> Limits {
        Limits {
            max_bulk_len: usize::MAX / 2,
            max_array_len: usize::MAX / 2,
        }
    }
}

/// Malformed input. `Display` gives redis's text after `ERR `; [`ProtocolError::reply`] the
/// whole error reply.
///
/// ```
/// use kv::resp::ProtocolError;
///
/// assert_eq!(ProtocolError::ExpectedBulk(b'x').to_string(), "Protocol error: expected '$', got 'x'");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// An array header line longer than [`INLINE_MAX`] without a line end.
    TooBigMultibulkCount,
    /// An array length that is not a number or is above the limit.
    InvalidMultibulkLength,
    /// A bulk header line longer than [`INLINE_MAX`] without a line end.
    TooBigBulkCount,
    /// An array element that does not start with `$`: the byte found.
    ExpectedBulk(u8),
    /// A bulk length that is not a number, is negative, or is above the limit.
    InvalidBulkLength,
    /// An inline request longer than [`INLINE_MAX`] without a line end.
    TooBigInline,
    /// An inline request with an unterminated quote, or a closing quote followed by a non-blank.
    UnbalancedQuotes,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::TooBigMultibulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::ExpectedBulk(b) => {
                // Redis prints the raw byte, with line ends turned into blanks like every
                // error it sends.
                let c = match *b {
                    b'\r' | b'\n' => ' ',
                    b => char::from(b),
                };
                write!(f, "expected '$', got '{c}'")
            }
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl ProtocolError {
    /// The error reply redis sends for it: `-ERR Protocol error: ...`.
    ///
    /// ```
    /// use kv::resp::{ProtocolError, Reply};
    ///
    /// let mut out = Vec::new();
    /// ProtocolError::InvalidBulkLength.reply().encode(&mut out);
    /// assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
    /// ```
    pub fn reply(&self) -> Reply {
        let mut text = b"ERR ".to_vec();
        match self {
            // The one message with a raw byte in it (which may not be UTF-8).
            ProtocolError::ExpectedBulk(b) => {
                text.extend_from_slice(b"Protocol error: expected '$', got '");
                text.push(if matches!(b, b'\r' | b'\n') { b' ' } else { *b });
                text.push(b'\'');
            }
            other => text.extend_from_slice(other.to_string().as_bytes()),
        }
        Reply::Error(Cow::Owned(text))
    }
}

/// A request's arguments: the command name first.
pub type Args = Vec<Vec<u8>>;

/// A resumable request parser (see the [module docs](self)).
///
/// ```
/// use kv::resp::Parser;
///
/// let mut parser = Parser::default();
/// let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";
/// assert_eq!(parser.parse(&input[..9]), Ok(None)); // incomplete
/// let (args, used) = parser.parse(input).unwrap().unwrap();
/// assert_eq!(args, [b"GET".to_vec(), b"k".to_vec()]);
/// let (args, _) = parser.parse(&input[used..]).unwrap().unwrap();
/// assert_eq!(args, [b"PING".to_vec()]);
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    partial: Option<Partial>,
}

/// A half-parsed array: what redis keeps in `c->multibulklen`, `c->bulklen` and `c->argv`.
#[derive(Debug)]
struct Partial {
    /// Where parsing continues, counted from the front of the buffer.
    pos: usize,
    /// Elements still to come.
    remaining: usize,
    /// Elements parsed so far.
    args: Args,
    /// The length of the bulk string whose header was read and whose data is awaited.
    bulk_len: Option<usize>,
}

impl Parser {
    /// A parser with these limits.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            partial: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Parses one request from the front of `buf`: `Ok(None)` if incomplete, the arguments and
    /// the bytes taken, or a protocol error. See the [module docs](self) for the contract.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] for malformed input. The parser is then reset; the connection should
    /// be closed after the error reply, as redis does.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<(Args, usize)>, ProtocolError> {
        let result = self.parse_inner(buf);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn parse_inner(&mut self, buf: &[u8]) -> Result<Option<(Args, usize)>, ProtocolError> {
        if self.partial.is_none() {
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {
                    let Some((line, next)) = header_line(buf, 0) else {
                        return if buf.len() > INLINE_MAX {
                            Err(ProtocolError::TooBigMultibulkCount)
                        } else {
                            Ok(None)
                        };
                    };
                    let count =
                        string2ll(&line[1..]).ok_or(ProtocolError::InvalidMultibulkLength)?;
                    if count <= 0 {
                        return Ok(Some((Vec::new(), next)));
                    }
                    let count = usize::try_from(count)
                        .ok()
                        .filter(|&n| n <= self.limits.max_array_len)
                        .ok_or(ProtocolError::InvalidMultibulkLength)?;
                    self.partial = Some(Partial {
                        pos: next,
                        remaining: count,
                        // Never trust a length announced before the data arrives.
                        args: Vec::with_capacity(count.min(1024)),
                        bulk_len: None,
                    });
                }
                Some(_) => return parse_inline(buf),
            }
        }
        let partial = self.partial.as_mut().expect("a partial array exists here");
        loop {
            let len = match partial.bulk_len {
                Some(len) => len,
                None => {
                    let Some((line, next)) = header_line(buf, partial.pos) else {
                        return if buf.len() - partial.pos > INLINE_MAX {
                            Err(ProtocolError::TooBigBulkCount)
                        } else {
                            Ok(None)
                        };
                    };
                    if buf[partial.pos] != b'$' {
                        return Err(ProtocolError::ExpectedBulk(buf[partial.pos]));
                    }
                    let len = string2ll(&line[1..])
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= self.limits.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    partial.pos = next;
                    partial.bulk_len = Some(len);
                    len
                }
            };
            // The data and the two bytes after it (skipped unchecked, as redis does).
            if buf.len() - partial.pos < len + 2 {
                return Ok(None);
            }
            partial
                .args
                .push(buf[partial.pos..partial.pos + len].to_vec());
            partial.pos += len + 2;
            partial.bulk_len = None;
            partial.remaining -= 1;
            if partial.remaining == 0 {
                let done = self.partial.take().expect("still there");
                return Ok(Some((done.args, done.pos)));
            }
        }
    }
}

/// The header line starting at `start`, type byte included: the bytes up to the first `\r`,
/// and where the next line starts (two bytes after the `\r`). `None` if the line end has not
/// fully arrived.
fn header_line(buf: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = &buf[start..];
    let cr = rest.iter().position(|&b| b == b'\r')?;
    // Redis wants one more byte (the `\n`, unchecked) before it reads the line.
    if cr + 2 > rest.len() {
        return None;
    }
    Some((&rest[..cr], start + cr + 2))
}

/// An inline request: one line, split into words.
fn parse_inline(buf: &[u8]) -> Result<Option<(Args, usize)>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > INLINE_MAX {
            Err(ProtocolError::TooBigInline)
        } else {
            Ok(None)
        };
    };
    let mut line = &buf[..newline];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
    Ok(Some((args, newline + 1)))
}

/// Redis's `string2ll`: a base-10 `i64` with an optional `-`, no `+`, no blanks and no leading
/// zeros (`"0"` itself is fine, `"-0"` is not). At most 20 bytes.
///
/// ```
/// use kv::resp::string2ll;
///
/// assert_eq!(string2ll(b"-42"), Some(-42));
/// assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
/// assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
/// for bad in [&b""[..], b"+1", b" 1", b"01", b"-0", b"1x", b"9223372036854775808"] {
///     assert_eq!(string2ll(bad), None);
/// }
/// ```
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // -(2^63) is the one negative value whose magnitude is not an i64.
        0i64.checked_sub_unsigned(value)
    } else {
        i64::try_from(value).ok()
    }
}

/// Redis's `sdssplitargs`: words separated by blanks, with `"double"` quotes (escapes
/// `\n \r \t \b \a \xHH`, any other `\c` is `c`) and `'single'` quotes (only `\'`). `None` for
/// an unterminated quote or a closing quote followed by a non-blank. A NUL byte ends the line.
///
/// ```
/// use kv::resp::split_args;
///
/// assert_eq!(split_args(b"set k \"a\\x41\\n\"").unwrap(), [&b"set"[..], b"k", b"aA\n"]);
/// assert_eq!(split_args(br"echo 'it\'s'").unwrap(), [&b"echo"[..], b"it's"]);
/// assert_eq!(split_args(b"echo \"a"), None);
/// assert_eq!(split_args(b"echo \"a\"b"), None);
/// ```
pub fn split_args(line: &[u8]) -> Option<Args> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    // Past the end reads as the C string's terminating NUL.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
                    current.push(hex(at(p + 2)) * 16 + hex(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    // Unlike the blank skipping above, a word ends only at these (not at \v \f).
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// A reply.
///
/// ```
/// use kv::resp::Reply;
///
/// let reply = Reply::Array(vec![Reply::bulk("a"), Reply::Null, Reply::Integer(3)]);
/// let mut out = Vec::new();
/// reply.encode(&mut out);
/// assert_eq!(out, b"*3\r\n$1\r\na\r\n$-1\r\n:3\r\n");
/// assert_eq!(Reply::decode(&out), Ok(Some((reply, out.len()))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`: a short status line.
    Simple(Cow<'static, str>),
    /// `-ERR ...`: the error code and message, without the `-`.
    Error(Cow<'static, [u8]>),
    /// `:42`.
    Integer(i64),
    /// `$3\r\nabc`: a binary-safe string.
    Bulk(Vec<u8>),
    /// `$-1`: the null bulk string (a missing value).
    Null,
    /// `*N`: N replies.
    Array(Vec<Reply>),
    /// `*-1`: the null array.
    NullArray,
}

impl Reply {
    /// `+OK`.
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    /// A simple string.
    pub fn simple(s: impl Into<Cow<'static, str>>) -> Reply {
        Reply::Simple(s.into())
    }

    /// An error reply: the code and message (`"ERR syntax error"`), without the `-`.
    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(Cow::Owned(text.into().into_bytes()))
    }

    /// An error reply with a fixed text.
    pub const fn static_error(text: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(text.as_bytes()))
    }

    /// A bulk string.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(bytes.as_ref().to_vec())
    }

    /// A bulk string, or the null bulk string for `None`.
    pub fn bulk_or_null(bytes: Option<Vec<u8>>) -> Reply {
        bytes.map_or(Reply::Null, Reply::Bulk)
    }

    /// Appends the reply's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => encode_simple(out, s.as_bytes()),
            Reply::Error(e) => encode_error(out, e),
            Reply::Integer(n) => encode_integer(out, *n),
            Reply::Bulk(b) => encode_bulk(out, b),
            Reply::Null => out.extend_from_slice(b"$-1\r\n"),
            Reply::Array(items) => {
                encode_array_header(out, items.len());
                for item in items {
                    item.encode(out);
                }
            }
            Reply::NullArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }

    /// The reply's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads one reply from the front of `buf`: `Ok(None)` if incomplete, else the reply and
    /// the bytes it took. For clients and tests; accepts what [`encode`](Reply::encode) writes.
    ///
    /// # Errors
    ///
    /// A description of the malformed input.
    pub fn decode(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
        decode_at(buf, 0)
    }
}

fn decode_at(buf: &[u8], start: usize) -> Result<Option<(Reply, usize)>, String> {
    let rest = &buf[start..];
    let Some(cr) = rest.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &rest[1..cr];
    let next = start + cr + 2;
    let number = || string2ll(line).ok_or_else(|| format!("bad number {line:?}"));
    let reply = match rest[0] {
        b'+' => Reply::Simple(Cow::Owned(String::from_utf8_lossy(line).into_owned())),
        b'-' => Reply::Error(Cow::Owned(line.to_vec())),
        b':' => Reply::Integer(number()?),
        b'$' => {
            let Ok(len) = usize::try_from(number()?) else {
                return Ok(Some((Reply::Null, next)));
            };
            if buf.len() < next + len + 2 {
                return Ok(None);
            }
            if &buf[next + len..next + len + 2] != b"\r\n" {
                return Err("bulk string not followed by CRLF".to_owned());
            }
            return Ok(Some((
                Reply::Bulk(buf[next..next + len].to_vec()),
                next + len + 2,
            )));
        }
        b'*' => {
            let Ok(len) = usize::try_from(number()?) else {
                return Ok(Some((Reply::NullArray, next)));
            };
            let mut items = Vec::with_capacity(len.min(1024));
            let mut pos = next;
            for _ in 0..len {
                let Some((item, after)) = decode_at(buf, pos)? else {
                    return Ok(None);
                };
                items.push(item);
                pos = after;
            }
            return Ok(Some((Reply::Array(items), pos)));
        }
        other => return Err(format!("unknown reply type {:?}", char::from(other))),
    };
    Ok(Some((reply, next)))
}

/// Writes `+text` (line ends in `text` become blanks).
pub fn encode_simple(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'+');
    push_line(out, text);
}

/// Writes `-text` (line ends in `text` become blanks, as redis does for error messages).
pub fn encode_error(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'-');
    push_line(out, text);
}

fn push_line(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if matches!(b, b'\r' | b'\n') { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// Writes `:n`.
pub fn encode_integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_number(out, n);
}

/// Writes `$len\r\nbytes\r\n`.
pub fn encode_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    push_number(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Writes the null bulk string `$-1`.
pub fn encode_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// Writes `*len`; the caller writes the `len` elements after it.
pub fn encode_array_header(out: &mut Vec<u8>, len: usize) {
    out.push(b'*');
    push_number(out, len as i64);
}

/// Writes a request the way clients send one: an array of bulk strings. The append-only file
/// stores its records this way too.
///
/// ```
/// let mut out = Vec::new();
/// kv::resp::encode_command(&mut out, &["SET", "k", "v"]);
/// assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
/// ```
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    encode_array_header(out, args.len());
    for arg in args {
        encode_bulk(out, arg.as_ref());
    }
}

fn push_number(out: &mut Vec<u8>, n: i64) {
    // Integers are written often (every bulk header); skip the formatter.
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses everything in `input` as one connection would; stops at the first error.
    fn parse_all(input: &[u8]) -> (Vec<Args>, Option<ProtocolError>, usize) {
        let mut parser = Parser::default();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match parser.parse(&input[pos..]) {
                Ok(Some((args, used))) => {
                    pos += used;
                    out.push(args);
                }
                Ok(None) => return (out, None, pos),
                Err(e) => return (out, Some(e), pos),
            }
        }
    }

    fn args(words: &[&str]) -> Args {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn error_of(input: &[u8]) -> Vec<u8> {
        let (_, err, _) = parse_all(input);
        err.expect("a protocol error").reply().to_bytes()
    }

    #[test]
    fn arrays_of_bulk_strings() {
        let (frames, err, used) = parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        assert_eq!(frames, [args(&["SET", "k", ""])]);
        assert_eq!((err, used), (None, 26));
    }

    #[test]
    fn binary_data_inside_bulk_strings() {
        let (frames, _, _) = parse_all(b"*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\0\xff\r\n");
        assert_eq!(frames, [vec![b"ECHO".to_vec(), b"\r\n\0\xff".to_vec()]]);
    }

    #[test]
    fn empty_requests_are_returned_empty() {
        let (frames, err, _) = parse_all(b"*0\r\n*-1\r\n\r\n  \r\nPING\r\n");
        assert_eq!(frames, [vec![], vec![], vec![], vec![], args(&["PING"])]);
        assert_eq!(err, None);
    }

    #[test]
    fn the_bytes_after_the_data_and_after_a_cr_are_not_checked() {
        // As redis-server 7.0.15 answers: both are a PING.
        let (frames, err, _) = parse_all(b"*1\r\n$4\r\nPINGxx*1\rx$4\r\nping\r\n");
        assert_eq!(frames, [args(&["PING"]), args(&["ping"])]);
        assert_eq!(err, None);
    }

    #[test]
    fn malformed_arrays_get_redis_words() {
        // Each input and the reply redis-server 7.0.15 sends for it.
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"*2\r\nx3\r\nget\r\n",
                b"-ERR Protocol error: expected '$', got 'x'\r\n",
            ),
            (
                b"*1\r\n\r\n",
                b"-ERR Protocol error: expected '$', got ' '\r\n",
            ),
            (
                b"*2\r\n$-3\r\nget\r\n",
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*2\r\n$abc\r\n",
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*2\r\n$01\r\n",
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*1\r\n$+4\r\n",
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*1\r\n$536870913\r\n",
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                b"*abc\r\n",
                b"-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"*01\r\n",
                b"-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"*2147483648\r\n",
                b"-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                b"set \"a b\r\n",
                b"-ERR Protocol error: unbalanced quotes in request\r\n",
            ),
            (
                b"set \"a\"b c\r\n",
                b"-ERR Protocol error: unbalanced quotes in request\r\n",
            ),
        ];
        for (input, reply) in cases {
            assert_eq!(
                error_of(input),
                *reply,
                "for {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn the_largest_accepted_lengths_are_incomplete_not_errors() {
        assert_eq!(parse_all(b"*2147483647\r\n").1, None);
        assert_eq!(parse_all(b"*1\r\n$536870912\r\n").1, None);
    }

    #[test]
    fn lines_without_an_end_are_limited_to_64k() {
        let mut long = vec![b'*'];
        long.extend(std::iter::repeat_n(b'1', INLINE_MAX - 1));
        assert_eq!(parse_all(&long).1, None);
        long.push(b'1');
        assert_eq!(
            parse_all(&long).1,
            Some(ProtocolError::TooBigMultibulkCount)
        );

        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX));
        assert_eq!(parse_all(&bulk).1, Some(ProtocolError::TooBigBulkCount));

        let inline = vec![b'x'; INLINE_MAX];
        assert_eq!(parse_all(&inline).1, None);
        let inline = vec![b'x'; INLINE_MAX + 1];
        assert_eq!(parse_all(&inline).1, Some(ProtocolError::TooBigInline));
    }

    #[test]
    fn limits_are_configurable() {
        let mut parser = Parser::new(Limits {
            max_bulk_len: 3,
            max_array_len: 2,
        });
        assert_eq!(
            parser.parse(b"*1\r\n$3\r\nabc\r\n").unwrap().unwrap().0,
            [b"abc".to_vec()]
        );
        assert_eq!(
            parser.parse(b"*1\r\n$4\r\nabcd\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parser.parse(b"*3\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        // After an error the parser starts afresh.
        assert_eq!(
            parser.parse(b"PING\r\n").unwrap().unwrap().0,
            [b"PING".to_vec()]
        );
    }

    #[test]
    fn inline_requests_split_like_sdssplitargs() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"set \"\" v", &[b"set", b"", b"v"]),
            (b"echo  \t a \r", &[b"echo", b"a"]),
            (b"echo \"\\x41\\x4g\"", &[b"echo", b"Ax4g"]),
            (b"echo \"a\\zb\"", &[b"echo", b"azb"]),
            (b"echo a\"b\"", &[b"echo", b"ab"]),
            (b"echo \"a\"\tb", &[b"echo", b"a", b"b"]),
            (b"echo a\x0bb", &[b"echo", b"a\x0bb"]),
            (b"echo a\0 b", &[b"echo", b"a"]),
            (b"", &[]),
        ];
        for (line, words) in cases {
            let got = split_args(line).expect("balanced");
            assert_eq!(got, *words, "for {:?}", String::from_utf8_lossy(line));
        }
        assert_eq!(split_args(b"echo 'a"), None);
        assert_eq!(split_args(b"echo 'a'x"), None);
        assert_eq!(split_args(b"echo \"a\\\""), None);
    }

    #[test]
    fn inline_lines_end_at_lf_with_an_optional_cr() {
        let (frames, _, used) = parse_all(b"PING\nECHO x\r\n\n");
        assert_eq!(frames, [args(&["PING"]), args(&["ECHO", "x"]), vec![]]);
        assert_eq!(used, 14);
    }

    #[test]
    fn replies_encode_and_decode() {
        let reply = Reply::Array(vec![
            Reply::OK,
            Reply::error("ERR a\r\nb"),
            Reply::Integer(i64::MIN),
            Reply::Integer(0),
            Reply::bulk(b"\r\n"),
            Reply::Null,
            Reply::Array(vec![]),
            Reply::NullArray,
        ]);
        let bytes = reply.to_bytes();
        assert_eq!(
            bytes,
            b"*8\r\n+OK\r\n-ERR a  b\r\n:-9223372036854775808\r\n:0\r\n$2\r\n\r\n\r\n$-1\r\n*0\r\n*-1\r\n"
        );
        let (back, used) = Reply::decode(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let Reply::Array(items) = back else {
            panic!("an array")
        };
        assert_eq!(items[1], Reply::error("ERR a  b"));
        assert_eq!(items[4], Reply::bulk("\r\n"));
        for cut in 0..bytes.len() {
            assert_eq!(Reply::decode(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
    }

    /// xorshift64*: a tiny deterministic generator, so failures replay.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Random requests (arrays with arbitrary bytes, inline ones with plain words), their
    /// encoding, and the frames a parser must find in it.
    fn random_stream(rng: &mut Rng) -> (Vec<u8>, Vec<Args>) {
        let mut bytes = Vec::new();
        let mut frames = Vec::new();
        for _ in 0..rng.below(40) + 1 {
            if rng.below(4) == 0 {
                let words: Args = (0..rng.below(4) + 1)
                    .map(|_| {
                        (0..rng.below(6) + 1)
                            .map(|_| b'a' + rng.below(26) as u8)
                            .collect()
                    })
                    .collect();
                for (i, w) in words.iter().enumerate() {
                    if i > 0 {
                        bytes.push(b' ');
                    }
                    bytes.extend_from_slice(w);
                }
                bytes.extend_from_slice(if rng.below(2) == 0 { b"\r\n" } else { b"\n" });
                frames.push(words);
            } else {
                let args: Args = (0..rng.below(5) + 1)
                    .map(|_| (0..rng.below(300)).map(|_| rng.next() as u8).collect())
                    .collect();
                encode_command(&mut bytes, &args);
                frames.push(args);
            }
        }
        (bytes, frames)
    }

    #[test]
    fn random_splits_of_valid_input_parse_to_the_same_frames() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..300 {
            let (bytes, expected) = random_stream(&mut rng);
            // Feed it in random pieces, as reads from a socket would arrive, to one parser
            // whose buffer drops each request once parsed.
            let mut parser = Parser::default();
            let mut buffer = Vec::new();
            let mut got = Vec::new();
            let mut fed = 0;
            while fed < bytes.len() {
                let piece = (rng.below(64) + 1).min(bytes.len() - fed);
                buffer.extend_from_slice(&bytes[fed..fed + piece]);
                fed += piece;
                while let Some((args, used)) = parser.parse(&buffer).expect("valid input") {
                    buffer.drain(..used);
                    got.push(args);
                }
            }
            assert!(
                buffer.is_empty(),
                "round {round}: {} bytes left",
                buffer.len()
            );
            assert_eq!(got, expected, "round {round}");
        }
    }

    #[test]
    fn one_byte_at_a_time_is_the_same_as_all_at_once() {
        let mut rng = Rng(42);
        let (bytes, expected) = random_stream(&mut rng);
        let mut parser = Parser::default();
        let mut start = 0;
        let mut got = Vec::new();
        for end in 1..=bytes.len() {
            if let Some((args, used)) = parser.parse(&bytes[start..end]).unwrap() {
                start += used;
                got.push(args);
            }
        }
        assert_eq!(got, expected);
        assert_eq!(parse_all(&bytes).0, expected);
    }

    #[test]
    fn numbers_encode_exactly() {
        for n in [0, 1, -1, 9, 10, 99, 100, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            encode_integer(&mut out, n);
            assert_eq!(out, format!(":{n}\r\n").into_bytes());
        }
    }
}
