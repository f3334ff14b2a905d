// SPDX-License-Identifier: MIT
//! `wait` and `as_completed` over any futures (of any value types, through [`Waitable`]).

use crate::error::{check, last_error, Error, Result};
use crate::future::Future;
use crate::util::seconds;
use cfutures_sys as sys;
use std::collections::HashMap;
use std::ptr::{self, NonNull};
use std::time::Duration;

mod sealed {
    pub trait Sealed {}
}

/// Something that is (or refers to) a [`Future`]: what [`wait`] and [`as_completed`] accept. Implemented for
/// `Future<T>` and references to waitables, so a slice of `&dyn Waitable` mixes futures of different types.
pub trait Waitable: sealed::Sealed {
    /// The C handle (borrowed).
    #[doc(hidden)]
    fn raw_future(&self) -> *mut sys::cf_future;
}

impl<T> sealed::Sealed for Future<T> {}
impl<T> Waitable for Future<T> {
    fn raw_future(&self) -> *mut sys::cf_future {
        self.as_raw()
    }
}
impl<W: Waitable + ?Sized> sealed::Sealed for &W {}
impl<W: Waitable + ?Sized> Waitable for &W {
    fn raw_future(&self) -> *mut sys::cf_future {
        (**self).raw_future()
    }
}

/// When [`wait`] returns (Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// When every future is done (finished or cancelled).
    AllCompleted,
    /// When any future is done.
    FirstCompleted,
    /// When any future finishes by failing, or else when all are done.
    FirstException,
}

impl ReturnWhen {
    fn raw(self) -> sys::cf_return_when {
        match self {
            ReturnWhen::AllCompleted => sys::CF_ALL_COMPLETED,
            ReturnWhen::FirstCompleted => sys::CF_FIRST_COMPLETED,
            ReturnWhen::FirstException => sys::CF_FIRST_EXCEPTION,
        }
    }
}

/// Waits until the condition holds or the timeout (`None`: no limit) runs out, then returns `(done, not_done)`,
/// each in input order. As in Python, running out of time is not an error: it shows as a non-empty `not_done`.
///
/// ```
/// use cfutures::{wait, ReturnWhen, ThreadPool, ThreadPoolOptions};
/// let pool = ThreadPool::new(ThreadPoolOptions::new().max_workers(2)).unwrap();
/// let futures: Vec<_> = (0..4).map(|i| pool.submit(move || i * 10).unwrap()).collect();
/// let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted).unwrap();
/// assert_eq!((done.len(), not_done.len()), (4, 0));
/// ```
pub fn wait<W: Waitable>(futures: &[W], timeout: Option<Duration>, when: ReturnWhen) -> Result<(Vec<&W>, Vec<&W>)> {
    let handles: Vec<*mut sys::cf_future> = futures.iter().map(Waitable::raw_future).collect();
    let mut flags = vec![0u8; handles.len()];
    let fs = if handles.is_empty() { ptr::null() } else { handles.as_ptr() };
    // SAFETY: n handles, each kept alive by `futures`; n flags.
    let rc =
        unsafe { sys::cf_wait(fs, handles.len(), seconds(timeout), when.raw(), flags.as_mut_ptr(), ptr::null_mut()) };
    if rc != sys::CF_E_TIMEOUT {
        check(rc, "wait")?;
    }
    let (mut done, mut not_done) = (Vec::new(), Vec::new());
    for (future, flag) in futures.iter().zip(flags) {
        if flag != 0 {
            done.push(future)
        } else {
            not_done.push(future)
        }
    }
    Ok((done, not_done))
}

/// Yields the futures as they complete: those already done first (in input order), then in completion order;
/// each distinct future once. The timeout counts from this call: once it runs out the iterator yields one
/// [`Error::Timeout`] ("2 (of 4) futures unfinished") and ends.
///
/// ```
/// use cfutures::{as_completed, ThreadPool, ThreadPoolOptions};
/// let pool = ThreadPool::new(ThreadPoolOptions::new()).unwrap();
/// let futures: Vec<_> = (1..=3).map(|i| pool.submit(move || i).unwrap()).collect();
/// let sum: i32 = as_completed(&futures, None).unwrap().map(|f| f.unwrap().result(None).unwrap()).sum();
/// assert_eq!(sum, 6);
/// ```
pub fn as_completed<'a, W: Waitable>(futures: &'a [W], timeout: Option<Duration>) -> Result<AsCompleted<'a, W>> {
    let handles: Vec<*mut sys::cf_future> = futures.iter().map(Waitable::raw_future).collect();
    let mut index = HashMap::with_capacity(handles.len());
    for (i, h) in handles.iter().enumerate() {
        index.entry(*h as usize).or_insert(i);
    }
    let fs = if handles.is_empty() { ptr::null() } else { handles.as_ptr() };
    let mut it = ptr::null_mut();
    // SAFETY: n live handles; the iterator takes references of its own.
    check(unsafe { sys::cf_as_completed(fs, handles.len(), seconds(timeout), &mut it) }, "as_completed")?;
    let it = NonNull::new(it).expect("cf_as_completed returned CF_OK and a NULL iterator");
    Ok(AsCompleted { it, futures, index, finished: false })
}

/// The iterator of [`as_completed`]. It owns a C iterator (freed in `Drop`), which one thread at a time may use:
/// `Send` when the futures may be shared across threads, never `Sync`.
pub struct AsCompleted<'a, W> {
    it: NonNull<sys::cf_as_completed_iter>,
    futures: &'a [W],
    index: HashMap<usize, usize>,
    finished: bool,
}

// SAFETY: the C iterator may move between threads (it is used by one at a time; `&mut self` ensures that), and it
// only hands out references to the futures in `futures`, so moving it is like moving a `&'a [W]`.
unsafe impl<W: Sync> Send for AsCompleted<'_, W> {}

impl<'a, W: Waitable> Iterator for AsCompleted<'a, W> {
    type Item = Result<&'a W>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut out = ptr::null_mut();
        // SAFETY: the iterator is valid until Drop.
        let rc = unsafe { sys::cf_as_completed_next(self.it.as_ptr(), &mut out) };
        match rc {
            sys::CF_OK => match self.index.get(&(out as usize)) {
                Some(&i) => Some(Ok(&self.futures[i])),
                None => {
                    self.finished = true;
                    Some(Err(Error::InvalidState("as_completed: the library yielded an unknown future".into())))
                }
            },
            sys::CF_DONE => {
                self.finished = true;
                None
            }
            _ => {
                self.finished = true;
                Some(Err(last_error(rc, "as_completed")))
            }
        }
    }
}

impl<W> Drop for AsCompleted<'_, W> {
    fn drop(&mut self) {
        // SAFETY: owned iterator, freed exactly once.
        unsafe { sys::cf_as_completed_free(self.it.as_ptr()) }
    }
}
