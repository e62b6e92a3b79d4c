//! Spawn and monitor in one step (tutorial block 13, `SpawnMonitor.demo/0`): `spawn_monitor`
//! returns the pid and the monitor's reference, atomically, so the `DOWN` cannot be missed even
//! if the process dies at once.
//!
//! ```elixir
//! {pid, ref} = spawn_monitor(fn ->
//!   IO.puts("Short-lived process running")
//!   Process.sleep(500)
//!   :completed  # "Return value becomes exit reason for normal exit"
//! end)
//! ```
//!
//! Where the tutorial is wrong: a function's return value never becomes its exit reason.
//! Returning always means `:normal`, and the BEAM prints `Process exited with: :normal` (20 runs
//! of 20), not `:completed`. Here the type says so: a process function returns `()`; a process
//! that wants another reason calls [`otp::exit`].
//!
//! The line order is a race: the BEAM printed "Short-lived process running" first (20 runs of
//! 20, against the tutorial's claim); here the new process waits on the root's scheduler until
//! the root blocks in `receive`, so "Spawned ..." comes first. The sleep is 50 ms, not 500.
//!
//! Run with `cargo run --release --example spawn_monitor`.

use std::time::Duration;

use otp::Mailbox;

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: main
    // spawn_monitor combines spawn and monitor in one call.
    let (pid, reference) = otp::spawn_monitor(|| {
        println!("Short-lived process running");
        otp::sleep(Duration::from_millis(50));
        // Returning ends the process with :normal, whatever the function computed.
    });
    println!("Spawned {pid:?} with monitor {reference:?}");

    otp::receive! { mb,
        DOWN(r, p, reason) if r == reference && *p == pid => {
            println!("Process exited with: {reason}");
        }
    }
    // ANCHOR_END: main
}
