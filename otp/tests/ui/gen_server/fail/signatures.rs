struct S;

#[otp::gen_server]
impl S {
    #[call]
    async fn slow(&mut self) -> u32 {
        1
    }
    #[call]
    fn generic<T: Send>(&mut self, t: T) -> u32 {
        drop(t);
        1
    }
    #[call]
    #[cast]
    fn both(&mut self) {}
    #[cast(fast)]
    fn args(&mut self) {}
}

fn main() {}
