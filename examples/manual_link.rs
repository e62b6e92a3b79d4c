//! Linking an existing process (tutorial block 11, `ManualLink.demo/0`): `Process.link/1` links
//! the caller to a process that is already running.
//!
//! ```elixir
//! pid = spawn(fn -> receive do :crash -> raise "Intentional crash"; :done -> :ok end end)
//! IO.puts("Linked: #{inspect(Process.link(pid))}")
//! send(pid, :done)
//! ```
//!
//! The block only defines the module; like the BEAM's run of it, this example calls the demo.
//! The BEAM prints `Spawned: #PID<...>` and `Linked: true`. [`process::link`] returns
//! `Result<(), NoProc>`: `Ok` where Elixir returns `true`, and `Err` where linking to a process
//! that is already dead raises `:noproc` in a caller that does not trap exits.
//!
//! The second half takes the path the tutorial's comment describes ("if we send :crash, both
//! processes would die"): a process links to a child and sends it `:crash`, and dies with the
//! child's reason. The root watches it with a monitor, so that the example exits 0.
//!
//! Run with `cargo run --release --example manual_link`.

use otp::{process, ExitReason, Mailbox, Pid};

/// What the spawned process waits for.
enum Order {
    Crash,
    Done,
}

/// The spawned process: crashes or finishes, as told.
fn worker(mut mb: Mailbox<Order>) {
    otp::receive! { mb,
        Order::Crash => panic!("Intentional crash"),
        Order::Done => {}
    }
}

// ANCHOR: demo
/// `ManualLink.demo/0`, sending `order` at the end.
fn demo(order: Order) -> Pid<Order> {
    // Spawn without linking first.
    let pid = otp::spawn(worker);
    println!("Spawned: {pid:?}");
    println!("Linked: {}", process::link(&pid).is_ok());
    // Now they are linked: if we send :crash, both processes die (unless trapping exits).
    pid.send(order);
    pid
}
// ANCHOR_END: demo

/// Waits for the `DOWN` of `pid`, and returns its reason.
fn wait_down<M>(mb: &mut Mailbox<()>, pid: &Pid<M>) -> ExitReason {
    let watch = process::monitor(pid);
    otp::receive! { mb, DOWN(r, _, reason) if r == watch => reason }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    let pid = demo(Order::Done);
    wait_down(&mut mb, &pid);

    println!();
    println!("--- The same with :crash, in a process of its own ---");
    // ANCHOR: crash
    let linker = otp::spawn(|| {
        demo(Order::Crash);
        // Wait: the child's crash reaches us through the link.
        otp::sleep(std::time::Duration::from_secs(5));
    });
    let reason = wait_down(&mut mb, &linker);
    println!("The linking process died too: {reason}");
    // ANCHOR_END: crash
}
