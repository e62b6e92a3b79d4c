struct S;

#[otp::gen_server]
impl S {
    #[call]
    fn get(&mut self) -> u32 {
        1
    }
    #[cast]
    fn get_timeout(&mut self) {}
    #[call]
    fn stop(&mut self) {}
}

fn main() {}
