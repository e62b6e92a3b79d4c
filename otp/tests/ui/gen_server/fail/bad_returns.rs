use otp::gen_server::Info;

struct S;

#[otp::gen_server]
impl S {
    #[init]
    fn init(&mut self, start: u32) -> bool {
        start > 0
    }
    #[cast]
    fn put(&mut self, n: u32) -> u32 {
        n
    }
    #[handle_info]
    fn info(&mut self, message: String) {
        drop(message);
    }
    #[handle_continue]
    fn more(&mut self, _a: u32, _b: u32) {}
    #[terminate]
    fn terminate(&mut self) -> bool {
        true
    }
    #[call]
    fn reply(&mut self) -> otp::gen_server::CallResult {
        otp::gen_server::CallResult::reply(())
    }
    #[handle_info]
    fn info_again(&mut self, _m: Info<()>) {}
}

fn main() {}
