struct Worker;

#[otp::budget]
impl Worker {
    #[otp::budget]
    fn run(&self) {}
}

fn main() {
    Worker.run();
}
