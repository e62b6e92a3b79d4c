#[otp::test(shedulers = 2)]
fn unknown() {}

#[otp::test(schedulers = 2, schedulers = 3)]
fn twice() {}

#[otp::test(schedulers = 0, reductions = "many")]
fn bad_numbers() {}

#[otp::test(timeout = 10, shutdown_timeout = "5 seconds")]
fn bad_durations() {}

#[otp::test(schedulers)]
fn no_value() {}

fn main() {}
