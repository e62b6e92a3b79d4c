struct S;

#[otp::gen_server]
impl S {
    #[call]
    fn greet(&mut self, name: &str) -> String {
        format!("hello {name}")
    }
    #[cast]
    fn each(&mut self, f: impl Fn()) {
        f()
    }
}

fn main() {}
