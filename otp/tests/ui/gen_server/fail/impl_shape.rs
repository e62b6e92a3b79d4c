struct Generic<T>(T);

#[otp::gen_server]
impl<T: Send + 'static> Generic<T> {
    #[cast]
    fn put(&mut self, t: T) {
        self.0 = t;
    }
}

struct NoHandlers;

#[otp::gen_server]
impl NoHandlers {
    fn helper(&self) {}
}

struct Opts;

#[otp::gen_server(name = "x")]
impl Opts {
    #[cast]
    fn put(&mut self) {}
}

fn main() {}
