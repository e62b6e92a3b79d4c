//! Publish/subscribe between in-memory clients, in redis's RESP2 format.

mod common;

use common::{await_exits, bulk, bulks, config, connection_processes, int, with_kv, Client};
use kv::resp::Reply;

fn confirmation(kind: &str, channel: Option<&str>, count: i64) -> Reply {
    Reply::Array(vec![
        bulk(kind),
        channel.map_or(Reply::Null, bulk),
        int(count),
    ])
}

fn message(channel: &str, payload: &str) -> Reply {
    bulks(&["message", channel, payload])
}

#[test]
fn a_message_reaches_every_subscriber_of_its_channel() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut alice = Client::connect(&kv);
        let mut bob = Client::connect(&kv);
        let mut publisher = Client::connect(&kv);
        alice.send(&["SUBSCRIBE", "news", "sport", "news"]);
        assert_eq!(alice.reply(), confirmation("subscribe", Some("news"), 1));
        assert_eq!(alice.reply(), confirmation("subscribe", Some("sport"), 2));
        assert_eq!(alice.reply(), confirmation("subscribe", Some("news"), 2));
        assert_eq!(
            bob.cmd("SUBSCRIBE news"),
            confirmation("subscribe", Some("news"), 1)
        );

        assert_eq!(publisher.cmd("PUBLISH news hello"), int(2));
        assert_eq!(publisher.cmd("PUBLISH sport goal"), int(1));
        assert_eq!(publisher.cmd("PUBLISH weather rain"), int(0));
        assert_eq!(alice.reply(), message("news", "hello"));
        assert_eq!(alice.reply(), message("sport", "goal"));
        assert_eq!(bob.reply(), message("news", "hello"));

        // Unsubscribing: the count goes down, and nothing more arrives on that channel.
        assert_eq!(
            alice.cmd("UNSUBSCRIBE news"),
            confirmation("unsubscribe", Some("news"), 1)
        );
        assert_eq!(publisher.cmd("PUBLISH news again"), int(1));
        assert_eq!(bob.reply(), message("news", "again"));
        assert_eq!(publisher.cmd("PUBLISH sport second"), int(1));
        // The next thing alice gets is the sport message, not the news one.
        assert_eq!(alice.reply(), message("sport", "second"));
    });
}

#[test]
fn subscribed_mode_allows_only_pubsub_ping_and_quit() {
    with_kv(config(1), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(
            c.cmd("SUBSCRIBE a"),
            confirmation("subscribe", Some("a"), 1)
        );
        assert_eq!(
            c.cmd("GET x"),
            Reply::error(
                "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
                 RESET are allowed in this context"
            )
        );
        // Arity and unknown commands are checked first, as redis does.
        assert_eq!(
            c.cmd("GET"),
            Reply::error("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(c.cmd("PING"), bulks(&["pong", ""]));
        assert_eq!(c.cmd("PING hi"), bulks(&["pong", "hi"]));
        // Leaving every channel leaves subscribed mode.
        assert_eq!(
            c.cmd("UNSUBSCRIBE"),
            confirmation("unsubscribe", Some("a"), 0)
        );
        assert_eq!(c.cmd("UNSUBSCRIBE"), confirmation("unsubscribe", None, 0));
        assert_eq!(c.cmd("PING"), Reply::simple("PONG"));
        assert_eq!(c.cmd("SET x 1"), Reply::OK);
    });
}

#[test]
fn unsubscribe_without_channels_leaves_all_in_subscription_order() {
    with_kv(config(1), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        c.send(&["SUBSCRIBE", "c", "a", "b"]);
        for _ in 0..3 {
            c.reply();
        }
        c.send(&["UNSUBSCRIBE"]);
        assert_eq!(c.reply(), confirmation("unsubscribe", Some("c"), 2));
        assert_eq!(c.reply(), confirmation("unsubscribe", Some("a"), 1));
        assert_eq!(c.reply(), confirmation("unsubscribe", Some("b"), 0));
        assert_eq!(
            c.cmd("UNSUBSCRIBE x"),
            confirmation("unsubscribe", Some("x"), 0)
        );
    });
}

#[test]
fn a_subscriber_that_hangs_up_is_out_of_its_channels() {
    with_kv(config(1), |mb: &mut otp::Mailbox<()>, kv| {
        let mut publisher = Client::connect(&kv);
        // Answered: its session is running (it starts after the connection is accepted).
        assert_eq!(publisher.cmd("PING"), Reply::simple("PONG"));
        let before = connection_processes(&kv);
        let mut gone = Client::connect(&kv);
        assert_eq!(
            gone.cmd("SUBSCRIBE news"),
            confirmation("subscribe", Some("news"), 1)
        );
        let theirs: Vec<_> = connection_processes(&kv)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        assert_eq!(publisher.cmd("PUBLISH news one"), int(1));
        drop(gone);
        await_exits(mb, &theirs);
        assert_eq!(publisher.cmd("PUBLISH news two"), int(0));
        assert_eq!(kv.pubsub().subscribers(b"news"), 0);
    });
}

#[test]
fn many_subscribers_each_get_every_message_in_order() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut subscribers: Vec<Client> = (0..10).map(|_| Client::connect(&kv)).collect();
        for s in &mut subscribers {
            assert_eq!(
                s.cmd("SUBSCRIBE feed"),
                confirmation("subscribe", Some("feed"), 1)
            );
        }
        let mut publisher = Client::connect(&kv);
        for i in 0..50 {
            assert_eq!(
                publisher.call(&["PUBLISH", "feed", &i.to_string()]),
                int(10)
            );
        }
        for s in &mut subscribers {
            for i in 0..50 {
                assert_eq!(s.reply(), message("feed", &i.to_string()));
            }
        }
    });
}

#[test]
fn a_connection_is_one_process_until_it_subscribes_then_two() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut publisher = Client::connect(&kv);
        assert_eq!(publisher.cmd("PING"), Reply::simple("PONG"));
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET a 1"), common::ok());
        let before = connection_processes(&kv);
        assert_eq!(before.len(), 2, "one process per unsubscribed connection");
        // The SUBSCRIBE in the middle of a batch: what comes before runs in the reader, the
        // SUBSCRIBE and what follows it in the session process, in order.
        c.send_raw(b"GET a\r\nSUBSCRIBE news\r\nPING\r\nGET a\r\n");
        assert_eq!(c.reply(), bulk("1"));
        assert_eq!(c.reply(), confirmation("subscribe", Some("news"), 1));
        assert_eq!(c.reply(), bulks(&["pong", ""]));
        let Reply::Error(refused) = c.reply() else {
            panic!("GET is refused in subscribed mode")
        };
        assert!(String::from_utf8_lossy(&refused).starts_with("ERR Can't execute 'get'"));
        let after = connection_processes(&kv);
        assert_eq!(after.len(), 3, "the subscriber's reader and its session");
        assert_eq!(publisher.cmd("PUBLISH news hi"), int(1));
        assert_eq!(c.reply(), message("news", "hi"));
        // Every command was counted once, the handed-over SUBSCRIBE included.
        assert_eq!(kv.stats().total_commands(), 7);
    });
}
