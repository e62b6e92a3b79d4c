//! Pattern matching in `receive` (tutorial block 6, `Calculator`): a process loops, taking each
//! message in turn and picking the first clause that matches it, guards included.
//!
//! ```elixir
//! receive do
//!   {:add, a, b} -> IO.puts("#{a} + #{b} = #{a + b}"); loop()
//!   {:divide, a, b} when b != 0 -> IO.puts("#{a} / #{b} = #{a / b}"); loop()
//!   {:divide, _, 0} -> IO.puts("Error: Division by zero"); loop()
//!   :stop -> IO.puts("Calculator stopping..."); :ok
//!   unknown -> IO.puts("Unknown message: #{inspect(unknown)}"); loop()
//! end
//! ```
//!
//! [`otp::receive!`] is Elixir's `receive`: the clauses, the guard and the catch-all read the
//! same, and the first clause that matches takes the message. The operation is an atom-like
//! `&str`, as the tuple's first element is in Elixir, so the catch-all has something to catch:
//! with a dedicated enum variant per operation, an unknown operation could not even be sent
//! (often the better design). `/` on the BEAM always gives a float (`2.0`), printed here with
//! `{:?}`; a message prints as `inspect` prints the tuple. `spawn(Calculator, :start, [])` is
//! [`otp::spawn_apply`]`(calculator, ())`.
//!
//! The BEAM prints exactly the tutorial's seven lines (20 runs of 20). The root waits for the
//! calculator to stop (a monitor) instead of relying on the VM staying up.
//!
//! Run with `cargo run --release --example calculator`.

use std::fmt;

use otp::{process, Mailbox};

// ANCHOR: calc
/// The calculator's messages: `{op, a, b}` tuples and `:stop`.
enum Calc {
    Op(&'static str, i64, i64),
    Stop,
}

/// `Calculator.start/0` and its loop.
fn calculator(mut mb: Mailbox<Calc>) {
    loop {
        otp::receive! { mb,
            // Pattern match on the tuple's structure.
            Calc::Op("add", a, b) => println!("{a} + {b} = {}", a + b),
            Calc::Op("subtract", a, b) => println!("{a} - {b} = {}", a - b),
            Calc::Op("multiply", a, b) => println!("{a} * {b} = {}", a * b),
            Calc::Op("divide", a, b) if b != 0 => {
                println!("{a} / {b} = {:?}", a as f64 / b as f64);
            }
            Calc::Op("divide", _, 0) => println!("Error: Division by zero"),
            Calc::Stop => {
                println!("Calculator stopping...");
                break;
            }
            // Catch-all for unknown messages.
            unknown => println!("Unknown message: {unknown:?}"),
        }
    }
}
// ANCHOR_END: calc

/// As `inspect` prints the messages: `{:add, 10, 5}`, `:stop`.
impl fmt::Debug for Calc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Calc::Op(op, a, b) => write!(f, "{{:{op}, {a}, {b}}}"),
            Calc::Stop => f.write_str(":stop"),
        }
    }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: send
    let calc = otp::spawn_apply(calculator, ());
    let watch = process::monitor(&calc);

    for (op, a, b) in [
        ("add", 10, 5),
        ("subtract", 10, 5),
        ("multiply", 10, 5),
        ("divide", 10, 5),
        ("divide", 10, 0),
        ("unknown_op", 1, 2),
    ] {
        calc.send(Calc::Op(op, a, b));
    }
    calc.send(Calc::Stop);
    // ANCHOR_END: send

    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
}
