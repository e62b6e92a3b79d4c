//! `Server::send_request` / `RequestId::receive_response` / `check_response`
//! (`:gen_server.send_request/2` and friends): many calls in flight at once, each answered or
//! failed exactly as a `call` would be.

use std::time::Duration;

use otp::{
    gen_server::{self, CallError, CallResult, CastResult, From, GenServer, Server},
    process, ExitReason, Mailbox,
};

/// Replies `n * 10` to `Some(n)`; keeps the request on `None` until a cast releases it with a
/// value; crashes on the cast `None`.
struct Holder(Vec<From<u32>>);

impl GenServer for Holder {
    type Call = Option<u32>;
    type Reply = u32;
    type Cast = Option<u32>;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, request: Option<u32>, from: From<u32>) -> CallResult<u32> {
        match request {
            Some(n) => CallResult::reply(n * 10),
            None => {
                self.0.push(from);
                CallResult::noreply()
            }
        }
    }

    fn handle_cast(&mut self, release: Option<u32>) -> CastResult {
        match release {
            Some(v) => {
                for from in self.0.drain(..) {
                    from.reply(v);
                }
                CastResult::noreply()
            }
            None => panic!("asked to crash"),
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn requests_to_many_servers_are_in_flight_together() {
    otp::run(|| {
        let servers: Vec<Server<Holder>> = (0..3)
            .map(|_| gen_server::start_link(Holder(vec![])).unwrap())
            .collect();
        // Every server holds its request: none can be answered before all are sent.
        let pending: Vec<_> = servers
            .iter()
            .map(|s| s.send_request(None).unwrap())
            .collect();
        for (s, v) in servers.iter().zip([7, 8, 9]) {
            s.cast(Some(v)).unwrap();
        }
        let replies: Vec<u32> = pending
            .into_iter()
            .map(|r| r.receive_response(WAIT).unwrap())
            .collect();
        assert_eq!(replies, [7, 8, 9]);
        assert_eq!(
            servers[0]
                .send_request(Some(4))
                .unwrap()
                .receive_response(WAIT),
            Ok(40)
        );
    });
}

#[test]
fn check_response_does_not_wait() {
    otp::run(|| {
        let s = gen_server::start_link(Holder(vec![])).unwrap();
        let r = s.send_request(None).unwrap();
        let r = match r.check_response() {
            Err(Ok(r)) => r,
            other => panic!("no reply can have come yet: {other:?}"),
        };
        s.cast(Some(5)).unwrap();
        assert_eq!(r.receive_response(WAIT), Ok(5));
    });
}

#[test]
fn failures_come_with_the_response() {
    otp::run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Holder(vec![])).unwrap();
        // Timeout: the server keeps the request.
        let r = s.send_request(None).unwrap();
        assert_eq!(
            r.receive_response(Duration::from_millis(1)),
            Err(CallError::Timeout)
        );
        // The server dies holding a request: its reason.
        let r = s.send_request(None).unwrap();
        s.cast(None).unwrap();
        assert!(matches!(
            r.receive_response(WAIT),
            Err(CallError::Exit(ExitReason::Panic(_)))
        ));
        let _ = mb.receive_message(); // its EXIT
                                      // No such server.
        assert!(matches!(s.send_request(Some(1)), Err(CallError::NoProc)));
        assert!(matches!(
            Server::<Holder>::named("nobody").send_request(Some(1)),
            Err(CallError::NoProc)
        ));
    });
}
