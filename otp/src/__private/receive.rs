//! Support for `receive!` and the `assert_receive!` family.
//!
//! `receive!` runs in two steps over [`Mailbox::select`]: a *probe* looks at each queued message
//! by reference, oldest first, matches it against the clauses in order and evaluates their
//! guards; the first clause that accepts a message wins and the probe records its index. Then
//! the message, now owned, is matched against that one clause's pattern again (without its
//! guard) so the body gets its bindings by value.
//!
//! The probe matches a borrowed message, so every binding is a reference there. Guards should
//! read as they would in a `match` on the owned value (`n > 0`, not `*n > 0`), so each binding
//! is rebound before the guard with [`Probe`]: `(&Probe(x)).__value()` is the value itself when
//! its type is `Copy` and the reference otherwise. That is autoref specialisation: the method is
//! found on `Probe<T>` (through [`ViaCopy`], only for `T: Copy`) one autoref step before it is
//! found on `&Probe<T>` (through [`ViaRef`], for any `T`), so the `Copy` impl wins when it
//! applies. The choice is made where the macro expands, with the concrete binding type.
//!
//! [`Describe`] uses the same trick for failure messages: a message is shown with `Debug` when
//! it has it, by its type name when it does not.

use std::{any::Any, fmt, time::Duration};

use crate::{Mailbox, Message, MessageRef, Term, Timeout};

/// A binding of a borrowed message, on its way to a guard. See the module docs.
#[derive(Debug)]
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// `Copy` bindings reach guards by value.
pub trait ViaCopy {
    /// The binding's type.
    type Value;
    /// The value.
    fn __value(&self) -> Self::Value;
}

impl<T: Copy> ViaCopy for Probe<'_, T> {
    type Value = T;
    #[inline]
    fn __value(&self) -> T {
        *self.0
    }
}

/// Other bindings reach guards as shared references.
pub trait ViaRef {
    /// A reference to the binding's type.
    type Value;
    /// The reference.
    fn __value(&self) -> Self::Value;
}

impl<'a, T: ?Sized> ViaRef for &Probe<'a, T> {
    type Value = &'a T;
    #[inline]
    fn __value(&self) -> &'a T {
        self.0
    }
}

/// Mailboxes whose messages can be of any type: typed clauses (`n: i32 => ...`) downcast.
#[diagnostic::on_unimplemented(
    message = "typed clauses (`pattern: Type => ...`) need a `Mailbox<Term>`, not a `Mailbox<{Self}>`",
    label = "this mailbox takes `{Self}` messages",
    note = "match the message itself (`Pattern => ...`), or spawn the process with a `Mailbox<otp::Term>`"
)]
pub trait Dynamic {
    /// The message as a `T`, if it is one.
    fn __probe<T: Any>(&self) -> Option<&T>;
    /// The message as a `T`, which the probe found it to be.
    fn __take<T: Any>(self) -> T;
}

impl Dynamic for Term {
    #[inline]
    fn __probe<T: Any>(&self) -> Option<&T> {
        self.downcast_ref::<T>()
    }

    fn __take<T: Any>(self) -> T {
        match self.downcast::<T>() {
            Ok(value) => value,
            Err(term) => unreachable!(
                "receive!: the probe accepted a {} as a {}",
                term.type_name(),
                std::any::type_name::<T>()
            ),
        }
    }
}

/// `&mut Mailbox<M>` from a mailbox expression, whether it is a `Mailbox<M>` place or a
/// `&mut Mailbox<M>` (method-call autoref does the rest), for code that uses it twice.
pub trait MailboxExt<M> {
    /// The mailbox.
    fn __mailbox(&mut self) -> &mut Mailbox<M>;
}

impl<M> MailboxExt<M> for Mailbox<M> {
    #[inline]
    fn __mailbox(&mut self) -> &mut Mailbox<M> {
        self
    }
}

/// A message on its way into a failure message. See the module docs.
#[derive(Debug)]
pub struct Describe<'a, T: ?Sized>(pub &'a T);

/// Messages with `Debug` are shown with it.
pub trait DescribeDebug {
    /// The description.
    fn __describe(&self) -> String;
}

impl<T: fmt::Debug + ?Sized> DescribeDebug for Describe<'_, T> {
    fn __describe(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// Other messages by their type's name.
pub trait DescribeAny {
    /// The description.
    fn __describe(&self) -> String;
}

impl<T: ?Sized> DescribeAny for &Describe<'_, T> {
    fn __describe(&self) -> String {
        format!("<a {} (no Debug)>", std::any::type_name::<T>())
    }
}

/// A system message as a clause would match it: `EXIT(from, reason)`, `DOWN(ref, pid, reason)`.
/// `None` for a user message.
pub fn describe_system<M>(message: &MessageRef<'_, M>) -> Option<String> {
    match message {
        MessageRef::Exit { from, reason } => Some(format!("EXIT({from:?}, {reason})")),
        MessageRef::Down {
            reference,
            pid,
            reason,
        } => Some(format!("DOWN({reference:?}, {pid:?}, {reason})")),
        _ => None,
    }
}

/// A taken system message, as [`describe_system`] shows it.
pub fn describe_system_message<M>(message: &Message<M>) -> String {
    match message {
        Message::Exit { from, reason } => format!("EXIT({from:?}, {reason})"),
        Message::Down {
            reference,
            pid,
            reason,
        } => format!("DOWN({reference:?}, {pid:?}, {reason})"),
        _ => String::new(),
    }
}

/// How a timeout reads in a failure message.
pub fn describe_timeout(timeout: Timeout) -> String {
    match timeout {
        Timeout::Infinity => "forever".to_owned(),
        Timeout::After(Duration::ZERO) => "already in the mailbox".to_owned(),
        Timeout::After(d) => format!("within {d:?}"),
    }
}
