//! Support for the code `otp-macros` generates. Not a public API: names here may change in any
//! release. Each macro's helpers live in their own submodule; generated code names them by their
//! full path (`::otp::__private::receive::Probe`), never through a glob import, so nothing here
//! leaks into the user's scope.

pub mod budget;
pub mod entry;
pub mod receive;

pub use otp_macros::__receive_assert as receive_assert;
