//! Publish/subscribe, through a `Registry` with duplicate keys: channel name → the connection
//! processes subscribed to it.
//!
//! A connection that runs `SUBSCRIBE news` registers *itself* under the key `news` (a registry
//! registers only the calling process), with its own [`Server`] handle as the value. `PUBLISH
//! news hi`, from any connection, looks the key up and sends each subscriber the message,
//! encoded once, as a plain message for its `handle_info`; the subscriber writes it to its
//! client. The registry monitors every registered process, so a connection that exits (the
//! client hung up, or it crashed) is out of every channel at once, without unsubscribing.
//!
//! What the client sees is redis's RESP2 format:
//!
//! * a message: `*3 $7 message $<channel> $<payload>`;
//! * each channel of a `SUBSCRIBE`/`UNSUBSCRIBE`: `*3 $9 subscribe $<channel> :<count>`, where
//!   the count is how many channels the connection is subscribed to afterwards;
//! * `UNSUBSCRIBE` with no channels on a connection subscribed to none:
//!   `*3 $11 unsubscribe $-1 :0`.
//!
//! `PUBLISH` answers the number of subscribers the message was sent to. Delivery is
//! asynchronous, as in redis: a subscriber that unsubscribes while a message to it is in
//! flight drops it ([`Subscriptions::is_subscribed`] is checked on arrival), so nothing arrives
//! after the `unsubscribe` confirmation.
//!
//! Pattern subscriptions (`PSUBSCRIBE`) and sharded channels are not implemented.

use std::{collections::HashSet, sync::Arc};

use otp::{
    gen_server::Server,
    registry::{Keys, Options, Registry},
    supervisor::ChildSpec,
};

use crate::{connection::Session, resp};

/// A channel name.
pub type Channel = Vec<u8>;

/// A published message, encoded once for all its subscribers.
#[derive(Debug)]
pub struct Published {
    /// The channel it was published on.
    pub channel: Channel,
    /// Its RESP encoding, as the subscribers' clients receive it.
    pub frame: Vec<u8>,
}

/// The channels and their subscribers: a handle to a duplicate-key registry. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PubSub {
    registry: Registry<Channel, Server<Session>>,
}

impl PubSub {
    /// An empty switchboard whose registry has `partitions` partitions. Its processes (which
    /// clean up after subscribers that exit) start with [`child_spec`](PubSub::child_spec).
    pub fn new(partitions: usize) -> PubSub {
        PubSub {
            registry: Registry::new(Options::new(Keys::Duplicate).partitions(partitions.max(1))),
        }
    }

    /// The registry's processes, for a supervision tree.
    pub fn child_spec(&self, id: &str) -> ChildSpec {
        self.registry.child_spec(id)
    }

    // ANCHOR: publish
    /// Sends `payload` to every subscriber of `channel`; returns how many there were.
    pub fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let mut sent = 0;
        self.registry.dispatch(channel, |subscribers| {
            let published = Arc::new(Published {
                channel: channel.to_vec(),
                frame: encode_message(channel, payload),
            });
            for (_, subscriber) in subscribers {
                // To a pid: fails only for a name, and these are pids.
                let _ = subscriber.send(crate::connection::Delivery(published.clone()));
                sent += 1;
            }
        });
        sent
    }
    // ANCHOR_END: publish

    /// How many connections are subscribed to `channel`.
    pub fn subscribers(&self, channel: &[u8]) -> usize {
        self.registry.lookup(channel).len()
    }

    /// Every channel with at least one subscriber, once each.
    pub fn channels(&self) -> usize {
        let mut seen = HashSet::new();
        for (channel, _, _) in self.registry.select(|_, _, _| true) {
            seen.insert(channel);
        }
        seen.len()
    }
}

/// One connection's subscriptions, in the order they were made.
#[derive(Debug, Default)]
pub struct Subscriptions {
    order: Vec<Channel>,
    set: HashSet<Channel>,
}

impl Subscriptions {
    /// How many channels the connection is subscribed to.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it is subscribed to none (it is not in subscribed mode).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Whether it is subscribed to `channel`.
    pub fn is_subscribed(&self, channel: &[u8]) -> bool {
        self.set.contains(channel)
    }

    /// Subscribes the calling process (`me`) to `channel`, unless it already is; returns the
    /// count after.
    pub fn subscribe(&mut self, pubsub: &PubSub, me: &Server<Session>, channel: Channel) -> usize {
        if !self.set.contains(&channel) {
            // Duplicate keys: registering cannot fail.
            let _ = pubsub.registry.register(channel.clone(), me.clone());
            self.set.insert(channel.clone());
            self.order.push(channel);
        }
        self.len()
    }

    /// Unsubscribes the calling process from `channel` (if it was subscribed); returns the
    /// count after.
    pub fn unsubscribe(&mut self, pubsub: &PubSub, channel: &[u8]) -> usize {
        if self.set.remove(channel) {
            pubsub.registry.unregister(channel);
            self.order.retain(|c| c != channel);
        }
        self.len()
    }

    /// The channels, oldest subscription first.
    pub fn channels(&self) -> Vec<Channel> {
        self.order.clone()
    }
}

/// `*3 $7 message $<channel> $<payload>`.
///
/// ```
/// assert_eq!(
///     kv::pubsub::encode_message(b"news", b"hi"),
///     b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
/// );
/// ```
pub fn encode_message(channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + channel.len() + payload.len());
    resp::encode_array_header(&mut out, 3);
    resp::encode_bulk(&mut out, b"message");
    resp::encode_bulk(&mut out, channel);
    resp::encode_bulk(&mut out, payload);
    out
}

/// A confirmation, `*3 $<kind> $<channel> :<count>` (`kind` is `subscribe` or `unsubscribe`;
/// no channel is the null bulk string).
///
/// ```
/// let mut out = Vec::new();
/// kv::pubsub::encode_confirmation(&mut out, "unsubscribe", None, 0);
/// assert_eq!(out, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
/// ```
pub fn encode_confirmation(out: &mut Vec<u8>, kind: &str, channel: Option<&[u8]>, count: usize) {
    resp::encode_array_header(out, 3);
    resp::encode_bulk(out, kind.as_bytes());
    match channel {
        Some(c) => resp::encode_bulk(out, c),
        None => resp::encode_null(out),
    }
    resp::encode_integer(out, i64::try_from(count).unwrap_or(i64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmations_and_messages_are_redis_frames() {
        let mut out = Vec::new();
        encode_confirmation(&mut out, "subscribe", Some(b"a"), 2);
        assert_eq!(out, b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n");
        assert_eq!(
            encode_message(b"ch", b""),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn subscriptions_keep_their_order_and_count_once() {
        otp::run(|| {
            let pubsub = PubSub::new(2);
            // Any GenServer handle will do as the value; a session is not needed to count.
            let me: Server<Session> = Server::named("not-a-session");
            let mut subs = Subscriptions::default();
            assert_eq!(subs.subscribe(&pubsub, &me, b"b".to_vec()), 1);
            assert_eq!(subs.subscribe(&pubsub, &me, b"a".to_vec()), 2);
            assert_eq!(subs.subscribe(&pubsub, &me, b"b".to_vec()), 2);
            assert_eq!(pubsub.subscribers(b"b"), 1);
            assert_eq!(subs.channels(), [b"b".to_vec(), b"a".to_vec()]);
            assert_eq!(subs.unsubscribe(&pubsub, b"b"), 1);
            assert_eq!(subs.unsubscribe(&pubsub, b"b"), 1);
            assert_eq!(pubsub.subscribers(b"b"), 0);
            assert_eq!(pubsub.channels(), 1);
        });
    }
}
