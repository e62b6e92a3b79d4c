struct S;

#[otp::gen_server]
impl S {
    #[call]
    fn by_value(self) -> u32 {
        1
    }
    #[cast]
    fn no_receiver(n: u32) {
        let _ = n;
    }
}

fn main() {}
