//! Support for the code `otp-macros` generates. Not a public API: names here may change in any
//! release. Each macro's helpers live in their own submodule.
