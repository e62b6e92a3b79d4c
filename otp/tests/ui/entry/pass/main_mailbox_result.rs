//! #[otp::main] taking the root mailbox and returning a Result with a non-Send error.
use std::error::Error;

use otp::Mailbox;

#[otp::main(shutdown_timeout = "1s")]
fn main(mut mb: Mailbox<String>) -> Result<(), Box<dyn Error>> {
    let me = mb.pid();
    otp::spawn(move || me.send("42".to_owned()));
    let n: u32 = mb.receive().parse()?;
    assert_eq!(n, 42);
    Ok(())
}
