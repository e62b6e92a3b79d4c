// Every handler kind, with both return shapes.
use otp::gen_server::{CallResult, CastResult, Info, InitResult, ReplyTo};
use otp::ExitReason;

struct S(u32);

#[otp::gen_server(vis = pub, client = Handle)]
impl S {
    #[init]
    fn init(&mut self) -> InitResult {
        InitResult::ok()
    }
    #[call]
    fn get(&self) -> u32 {
        self.0
    }
    #[call]
    fn nothing(&mut self) {}
    #[call]
    fn later(&mut self, reply_to: ReplyTo<Self, u32>) -> CallResult<u32> {
        reply_to.reply(1);
        CallResult::noreply()
    }
    #[cast]
    fn set(&mut self, n: u32) -> CastResult {
        self.0 = n;
        CastResult::noreply()
    }
    #[handle_info]
    fn info(&mut self, _info: Info<()>) {}
    #[terminate]
    fn terminate(&mut self, _reason: &ExitReason) {}
}

fn main() {
    otp::run(|| {
        let h = Handle::start_link(S(1)).unwrap();
        h.set(2).unwrap();
        assert_eq!(h.get(), Ok(2));
        assert_eq!(h.nothing(), Ok(()));
        assert_eq!(h.later(), Ok(1));
    });
}
