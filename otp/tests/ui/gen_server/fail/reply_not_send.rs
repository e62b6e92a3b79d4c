use std::rc::Rc;

struct S;

#[otp::gen_server]
impl S {
    #[call]
    fn shared(&mut self) -> Rc<u32> {
        Rc::new(1)
    }
}

fn main() {}
