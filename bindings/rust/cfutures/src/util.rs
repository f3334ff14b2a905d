// SPDX-License-Identifier: MIT
//! Small conversions shared by the modules.

use crate::error::{Error, Result};
use cfutures_sys as sys;
use std::any::Any;
use std::ffi::CString;
use std::time::Duration;

/// A timeout as the C ABI wants it: seconds, `CF_FOREVER` for no limit.
pub(crate) fn seconds(timeout: Option<Duration>) -> f64 {
    match timeout {
        None => sys::CF_FOREVER,
        Some(d) => d.as_secs_f64(),
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// A C string, or [`Error::InvalidArgument`] naming `what` when `s` holds a NUL byte.
pub(crate) fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidArgument(format!("{what}: {s:?} contains a NUL byte")))
}

/// Like `c_string`, for text that comes from a panic or a task: NUL bytes are replaced instead of refused.
pub(crate) fn c_string_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).expect("no NUL left")
}
