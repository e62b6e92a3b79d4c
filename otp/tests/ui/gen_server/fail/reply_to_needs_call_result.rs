use otp::gen_server::ReplyTo;

struct S;

#[otp::gen_server]
impl S {
    #[call]
    fn later(&mut self, reply_to: ReplyTo<Self, u32>) -> u32 {
        drop(reply_to);
        1
    }
    #[cast]
    fn cast_reply(&mut self, reply_to: ReplyTo<Self, u32>) {
        drop(reply_to);
    }
}

fn main() {}
