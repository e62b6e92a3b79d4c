//! An in-memory byte stream between processes: what the connection code runs over in tests,
//! and a model of the socket it runs over in production (`otp::io::TcpStream`).
//!
//! [`pair`] makes two connected [`Duplex`] ends; bytes written to one are read from the other.
//! Each direction is a *pipe*, a small GenServer holding the bytes in flight. A read is a call
//! to it that is answered when there is something to read (or the writing end is gone: end of
//! file), so a reading process is suspended the way it is on an `otp::io::TcpStream`,
//! and neither end ever blocks a scheduler thread or polls.
//!
//! Like a socket: dropping a writing end is end-of-file for the reader once the buffered bytes
//! are read; writing after the reading end is gone fails with `BrokenPipe`; the two halves of
//! an end can be used from different processes ([`Transport::split`]). Unlike a socket, a pipe
//! is unbounded, so a write never waits: a test that writes a lot without reading the replies
//! does not deadlock.
//!
//! A pipe process stops once both of its ends are gone. Its ends must be used and dropped
//! inside processes (they talk to the pipe process).

use std::{
    collections::VecDeque,
    io::{self, Read, Write},
};

use otp::{
    gen_server::{self, CallResult, CastResult, From, GenServer, Server},
    ExitReason, Timeout,
};

use crate::connection::Transport;

/// Makes two connected ends, `(client, server)`: each reads what the other writes.
///
/// # Panics
///
/// Outside a process, or if a pipe process cannot start.
///
/// ```
/// use std::io::{Read, Write};
///
/// otp::run(|| {
///     let (mut a, mut b) = kv::memory::pair();
///     a.write_all(b"ping").unwrap();
///     drop(a); // end of file for b, after the bytes
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).unwrap();
///     assert_eq!(got, b"ping");
/// });
/// ```
pub fn pair() -> (Duplex, Duplex) {
    let a_to_b = start_pipe();
    let b_to_a = start_pipe();
    let name = |pipe: &Server<Pipe>| {
        pipe.pid()
            .map_or_else(|| "memory".to_owned(), |p| format!("memory:{p}"))
    };
    let a = Duplex {
        peer: name(&b_to_a),
        reader: PipeReader {
            pipe: b_to_a.clone(),
        },
        writer: PipeWriter {
            pipe: a_to_b.clone(),
        },
    };
    let b = Duplex {
        peer: name(&a_to_b),
        reader: PipeReader { pipe: a_to_b },
        writer: PipeWriter { pipe: b_to_a },
    };
    (a, b)
}

fn start_pipe() -> Server<Pipe> {
    gen_server::start(Pipe::default()).expect("a pipe process starts")
}

/// One end of a [`pair`]: read what the other end writes, write what it reads.
#[derive(Debug)]
pub struct Duplex {
    peer: String,
    reader: PipeReader,
    writer: PipeWriter,
}

impl Duplex {
    /// The two pipe processes behind this end (and its peer), for tests that wait for them
    /// to exit.
    pub fn pipe_pids(&self) -> Vec<otp::AnyPid> {
        [self.reader.pipe.pid(), self.writer.pipe.pid()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Splits the end into its read half and its write half.
    pub fn into_halves(self) -> (PipeReader, PipeWriter) {
        (self.reader, self.writer)
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Duplex {
    type Reader = PipeReader;
    type Writer = PipeWriter;

    fn split(self) -> io::Result<(PipeReader, PipeWriter)> {
        Ok(self.into_halves())
    }

    fn peer(&self) -> String {
        self.peer.clone()
    }
}

/// The reading half of an end. Dropping it makes the other end's writes fail.
#[derive(Debug)]
pub struct PipeReader {
    pipe: Server<Pipe>,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self
            .pipe
            .call_timeout(Op::Read(buf.len()), Timeout::Infinity)
        {
            Ok(Done::Data(data)) => {
                buf[..data.len()].copy_from_slice(&data);
                Ok(data.len())
            }
            Ok(_) => unreachable!("a read is answered with data"),
            // The pipe is gone: both ends were dropped, or it was killed.
            Err(_) => Ok(0),
        }
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let _ = self.pipe.cast(Close::Read);
    }
}

/// The writing half of an end. Dropping it is end-of-file for the other end.
#[derive(Debug)]
pub struct PipeWriter {
    pipe: Server<Pipe>,
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self
            .pipe
            .call_timeout(Op::Write(buf.to_vec()), Timeout::Infinity)
        {
            Ok(Done::Written) => Ok(buf.len()),
            _ => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let _ = self.pipe.cast(Close::Write);
    }
}

/// One direction of a pair: the bytes written and not yet read, and a reader waiting for
/// some.
#[derive(Debug, Default)]
pub struct Pipe {
    data: VecDeque<u8>,
    waiting: Option<(usize, From<Done>)>,
    write_closed: bool,
    read_closed: bool,
}

/// A pipe's requests.
#[derive(Debug)]
pub enum Op {
    /// Up to this many bytes, waiting for at least one (none: end of file).
    Read(usize),
    /// These bytes.
    Write(Vec<u8>),
}

/// A pipe's answers.
#[derive(Debug)]
pub enum Done {
    /// Bytes read (empty: end of file).
    Data(Vec<u8>),
    /// The bytes were buffered.
    Written,
    /// The reading end is gone.
    Broken,
}

/// An end that went away.
#[derive(Debug)]
pub enum Close {
    /// The reading end.
    Read,
    /// The writing end.
    Write,
}

impl Pipe {
    fn take(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.data.len());
        self.data.drain(..n).collect()
    }

    fn finished(&self) -> bool {
        self.read_closed && self.write_closed
    }
}

// ANCHOR: pipe
impl GenServer for Pipe {
    type Call = Op;
    type Reply = Done;
    type Cast = Close;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, op: Op, from: From<Done>) -> CallResult<Done> {
        match op {
            Op::Read(max) => {
                if !self.data.is_empty() || self.write_closed {
                    CallResult::reply(Done::Data(self.take(max)))
                } else {
                    self.waiting = Some((max, from));
                    CallResult::noreply()
                }
            }
            Op::Write(bytes) => {
                if self.read_closed {
                    return CallResult::reply(Done::Broken);
                }
                self.data.extend(bytes);
                if let Some((max, reader)) = self.waiting.take() {
                    let chunk = self.take(max);
                    reader.reply(Done::Data(chunk));
                }
                CallResult::reply(Done::Written)
            }
        }
    }

    fn handle_cast(&mut self, close: Close) -> CastResult {
        match close {
            Close::Write => {
                self.write_closed = true;
                if let Some((_, reader)) = self.waiting.take() {
                    reader.reply(Done::Data(Vec::new()));
                }
            }
            Close::Read => {
                self.read_closed = true;
                self.data.clear();
            }
        }
        if self.finished() {
            CastResult::Stop(ExitReason::Normal)
        } else {
            CastResult::noreply()
        }
    }
}
// ANCHOR_END: pipe

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_flow_both_ways_and_eof_follows_the_writer() {
        otp::run(|| {
            let (mut a, mut b) = pair();
            a.write_all(b"hello ").unwrap();
            a.write_all(b"world").unwrap();
            let mut buf = [0u8; 64];
            let n = b.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello world");
            b.write_all(b"back").unwrap();
            let n = a.read(&mut buf[..2]).unwrap();
            assert_eq!(&buf[..n], b"ba");
            let (b_reader, b_writer) = b.into_halves();
            drop(b_writer);
            let n = a.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"ck");
            assert_eq!(a.read(&mut buf).unwrap(), 0, "end of file");
            drop(b_reader);
        });
    }

    #[test]
    fn a_reader_waits_in_another_process_until_data_arrives() {
        otp::run(|mut mb: otp::Mailbox<Vec<u8>>| {
            let (a, b) = pair();
            let me = mb.pid();
            otp::spawn(move || {
                let mut b = b;
                let mut got = Vec::new();
                b.read_to_end(&mut got).unwrap();
                me.send(got);
            });
            let mut a = a;
            a.write_all(b"one ").unwrap();
            a.write_all(b"two").unwrap();
            drop(a);
            assert_eq!(mb.receive(), b"one two");
        });
    }

    #[test]
    fn writing_to_a_dropped_reader_is_a_broken_pipe() {
        otp::run(|| {
            let (mut a, b) = pair();
            let (reader, _writer) = b.into_halves();
            drop(reader);
            let err = a.write_all(b"x").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        });
    }

    #[test]
    fn a_pipe_stops_when_both_ends_are_gone() {
        otp::run(|mut mb: otp::Mailbox<()>| {
            let pipe = start_pipe();
            let pid = pipe.pid().unwrap();
            let watch = otp::process::monitor(&pid);
            drop(PipeReader { pipe: pipe.clone() });
            drop(PipeWriter { pipe });
            match mb.receive_message() {
                otp::Message::Down {
                    reference, reason, ..
                } => {
                    assert_eq!(reference, watch);
                    assert_eq!(reason, ExitReason::Normal);
                }
                other => panic!("{other:?}"),
            }
        });
    }
}
