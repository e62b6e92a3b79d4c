trait Job {
    #[otp::budget]
    fn run(&self);
}

fn main() {}
