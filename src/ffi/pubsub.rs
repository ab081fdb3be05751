//! Pub/sub: subscriptions (queue or callback), publish, and keyspace events.
//!
//! A queue subscription is read with `nyc_subscription_drain`, which hands
//! back every waiting message in one `nyc_array` (two items per message:
//! channel, then data), so an event loop pays a couple of calls per wakeup
//! rather than several per message. Its descriptor (`nyc_subscription_fd`)
//! is readable exactly while messages wait.

use std::ffi::{c_int, c_void};

use super::boundary::{guarded, guarded_status, nyc_cache, with_cache};
use super::handles::nyc_array;
use super::slice::{bytes, out_param};
use super::status::{fail_static, nyc_status};
use crate::error::{Error, ErrorKind};
use crate::pubsub::{Message, Subscription, Topic};

/// The queue capacity `nyc_subscribe` uses when asked for 0.
pub const NYC_DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// A subscription made by `nyc_subscribe` or `nyc_subscribe_callback`;
/// release it with `nyc_unsubscribe`. It stays valid after its cache is
/// closed (it then receives nothing more). Any thread may use it, but
/// `nyc_unsubscribe` must not race with other calls on the same handle.
pub struct nyc_subscription {
    sub: Subscription,
}

/// A message callback: `user_data` as given to `nyc_subscribe_callback`,
/// the channel, the pattern that matched (NULL with length 0 for a channel
/// subscription) and the message data. The ranges are valid only during the
/// call and are not NUL-terminated. The callback must not unwind (a C++
/// callback catches its exceptions).
pub type nyc_message_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        channel: *const c_void,
        channel_len: usize,
        pattern: *const c_void,
        pattern_len: usize,
        message: *const c_void,
        message_len: usize,
    ),
>;

/// Releases a callback's `user_data` (`nyc_subscribe_callback`).
pub type nyc_free_callback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The host's `user_data`, handed back to its callback on any thread, and
/// handed to its release function when the last reference to the
/// subscription's callback goes: after the unsubscribe AND after every
/// delivery that was under way (those hold the callback until they end).
struct UserData {
    ptr: *mut c_void,
    free: nyc_free_callback,
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the host gave this function for this pointer, to be called once when no callback can run any more (this drop); it never unwinds.
            unsafe { free(self.ptr) }
        }
    }
}

// SAFETY: the pointer is never dereferenced by nycache, only passed back to the host's callback; `nyc_subscribe_callback` documents that it is used from any thread.
unsafe impl Send for UserData {}
// SAFETY: as above: nycache only copies the pointer value.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(&self) -> *mut c_void {
        self.ptr
    }
}

fn topic<'a>(channel: &'a [u8], is_pattern: c_int) -> Topic<'a> {
    if is_pattern != 0 {
        Topic::Pattern(channel)
    } else {
        Topic::Channel(channel)
    }
}

/// Subscribes a queue to a channel (`is_pattern` 0) or to a Redis glob
/// pattern (`is_pattern` non-zero). The queue holds up to `capacity`
/// messages (0: `NYC_DEFAULT_QUEUE_CAPACITY`, 1024); when a message arrives at a full queue
/// the OLDEST waiting message is dropped and counted
/// (`nyc_subscription_dropped`). Read it with `nyc_subscription_drain`;
/// wait on `nyc_subscription_fd`. On success `*out` receives the handle.
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` (NULL handle or `out`, NULL
/// `channel` with a length); `NYC_TOO_LARGE` (a channel longer than
/// `max_key_size + 64`); `NYC_IO` (no event descriptor could be made).
///
/// # Safety
/// `cache` is NULL or live; `channel` is NULL or `channel_len` readable
/// bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscribe(
    cache: *const nyc_cache,
    channel: *const c_void,
    channel_len: usize,
    is_pattern: c_int,
    capacity: usize,
    out: *mut *mut nyc_subscription,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `out` NULL or writable and the channel range readable.
        let (out, channel) = unsafe {
            (
                out_param(out, "out")?,
                bytes(channel, channel_len, "channel")?,
            )
        };
        let sub = c.subscribe(topic(channel, is_pattern), capacity)?;
        out.set(Box::into_raw(Box::new(nyc_subscription { sub })));
        Ok(())
    })
}

/// Subscribes `callback` to a channel (`is_pattern` 0) or a Redis glob
/// pattern (non-zero). It is called with `user_data` for every message, on
/// the thread that published it, after nycache has released all its locks:
/// it may call any `nyc_*` function, publish, subscribe and unsubscribe
/// included. Keyspace events raised by the background expiry pass are
/// delivered on the cache's maintenance thread. Several threads may run the
/// callback at once. On success `*out` receives the handle.
///
/// `free_user_data` (may be NULL) is called exactly once with `user_data`
/// when no call of `callback` is running or can start any more: if this
/// call fails, before it returns; otherwise after `nyc_unsubscribe` and
/// after every delivery under way at that moment, on whichever thread
/// finishes last.
/// Release the callback's state there, not after `nyc_unsubscribe`: an
/// unsubscribe made from inside a callback does not wait for deliveries
/// running on other threads.
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` (NULL handle, `callback` or
/// `out`, NULL `channel` with a length); `NYC_TOO_LARGE` (a channel longer
/// than `max_key_size + 64`).
///
/// # Safety
/// `cache` is NULL or live; `channel` is NULL or `channel_len` readable
/// bytes; `out` is NULL or writable; `callback` may be called from any
/// thread with `user_data` until `free_user_data` is called (or, without
/// one, until `nyc_unsubscribe` returns when it is not called from a
/// callback), and neither function unwinds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscribe_callback(
    cache: *const nyc_cache,
    channel: *const c_void,
    channel_len: usize,
    is_pattern: c_int,
    callback: nyc_message_callback,
    user_data: *mut c_void,
    free_user_data: nyc_free_callback,
    out: *mut *mut nyc_subscription,
) -> nyc_status {
    // Made first and moved into the body: on every failure (even a NULL
    // handle, where the body never runs) it is dropped, releasing user_data.
    let user = UserData {
        ptr: user_data,
        free: free_user_data,
    };
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, move |c| {
        // SAFETY: the caller promises `out` NULL or writable and the channel range readable.
        let (out, channel) = unsafe {
            (
                out_param(out, "out")?,
                bytes(channel, channel_len, "channel")?,
            )
        };
        let Some(callback) = callback else {
            return Err(Error::new(ErrorKind::InvalidArgument, "callback is NULL"));
        };
        let deliver = move |m: &Message| {
            let (pattern, pattern_len) = match m.pattern() {
                Some(p) => (p.as_ptr().cast::<c_void>(), p.len()),
                None => (std::ptr::null(), 0),
            };
            let (channel, data) = (m.channel(), m.payload());
            // SAFETY: the host promised a callback callable from any thread with its user_data; every range is valid for the call.
            unsafe {
                callback(
                    user.get(),
                    channel.as_ptr().cast(),
                    channel.len(),
                    pattern,
                    pattern_len,
                    data.as_ptr().cast(),
                    data.len(),
                )
            }
        };
        let sub = c.subscribe_callback(topic(channel, is_pattern), deliver)?;
        out.set(Box::into_raw(Box::new(nyc_subscription { sub })));
        Ok(())
    })
}

/// Publishes `message` on `channel`. Callback subscribers run before this
/// returns, on this thread. If `receivers` is not NULL it receives how many
/// subscriptions got the message (one subscribed to the channel and one to
/// a matching pattern count twice; a full queue still receives).
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` (NULL handle, NULL range with
/// a length); `NYC_TOO_LARGE` (channel longer than `max_key_size + 64`, or
/// message longer than the largest value).
///
/// # Safety
/// `cache` is NULL or live; `channel` and `message` are NULL or readable
/// for their lengths; `receivers` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_publish(
    cache: *const nyc_cache,
    channel: *const c_void,
    channel_len: usize,
    message: *const c_void,
    message_len: usize,
    receivers: *mut usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises both ranges readable.
        let (channel, message) = unsafe {
            (
                bytes(channel, channel_len, "channel")?,
                bytes(message, message_len, "message")?,
            )
        };
        let n = c.publish(channel, message)?;
        if !receivers.is_null() {
            // SAFETY: non-NULL, and the caller promises it writable.
            unsafe { receivers.write(n) };
        }
        Ok(())
    })
}

/// Takes up to `max` waiting messages (0: all of them), oldest first, into
/// one array of two items per message: the channel, then the data (item
/// `2*i` and `2*i + 1`). The pattern of a pattern subscription is the one
/// it was made with. Free the array with `nyc_array_free`. After a drain
/// that empties the queue the descriptor is no longer readable.
///
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND` (no message waits; `*out` is left
/// as it was); `NYC_INVALID_ARGUMENT` (NULL `sub` or `out`, or a callback
/// subscription, which has no queue).
///
/// # Safety
/// `sub` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscription_drain(
    sub: *const nyc_subscription,
    max: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    guarded_status(|| {
        // SAFETY: the caller promises NULL or a live handle, and `out` NULL or writable.
        let (sub, out) = unsafe { (sub.as_ref(), out_param(out, "out")?) };
        let sub = sub.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "the subscription handle is NULL",
            )
        })?;
        if !sub.sub.is_queue() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a callback subscription has no queue to drain",
            ));
        }
        let messages = sub.sub.drain(max);
        if messages.is_empty() {
            return Ok(fail_static(ErrorKind::NotFound, "no message waits"));
        }
        let items: Vec<&[u8]> = messages
            .iter()
            .flat_map(|m| [m.channel(), m.payload()])
            .collect();
        out.set(nyc_array::from_items(&items));
        Ok(nyc_status::NYC_OK)
    })
}

/// The subscription's event descriptor: readable exactly while messages
/// wait (an eventfd, non-blocking and close-on-exec). Wait on it with
/// poll/epoll or an event loop, then drain; never read or close it. -1 for
/// NULL, a callback subscription, or a platform without eventfd.
///
/// # Safety
/// `sub` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscription_fd(sub: *const nyc_subscription) -> c_int {
    // SAFETY: the caller promises NULL or a live handle.
    unsafe { sub.as_ref() }
        .and_then(|s| s.sub.fd())
        .unwrap_or(-1)
}

/// Messages waiting in the queue; 0 for NULL or a callback subscription.
///
/// # Safety
/// `sub` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscription_pending(sub: *const nyc_subscription) -> usize {
    // SAFETY: the caller promises NULL or a live handle.
    let sub = unsafe { sub.as_ref() };
    let mut n = 0;
    let _ = guarded(|| {
        n = sub.map_or(0, |s| s.sub.pending());
        Ok(())
    });
    n
}

/// Messages this subscription's queue dropped because it was full (the
/// oldest goes first); 0 for NULL or a callback subscription.
///
/// # Safety
/// `sub` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_subscription_dropped(sub: *const nyc_subscription) -> u64 {
    // SAFETY: the caller promises NULL or a live handle.
    unsafe { sub.as_ref() }.map_or(0, |s| s.sub.dropped())
}

/// Unsubscribes and frees the handle; NULL is a no-op. Safe while other
/// threads publish. When it returns, the queue receives nothing more and
/// the callback is neither running nor called again, except when called
/// from inside a callback: then it does not wait for calls under way on
/// other threads (so two callbacks unsubscribing each other cannot
/// deadlock). Works after the cache is closed.
///
/// # Safety
/// `sub` is NULL or a live handle not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_unsubscribe(sub: *mut nyc_subscription) {
    if !sub.is_null() {
        // SAFETY: made by Box::into_raw and freed once, as the caller promises.
        let sub = unsafe { Box::from_raw(sub) };
        let _ = guarded(move || {
            drop(sub);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{
        nyc_array_count, nyc_array_free, nyc_array_item_data, nyc_array_item_len, nyc_close,
        nyc_open,
    };
    use std::sync::Mutex;

    fn item(a: *const nyc_array, i: usize) -> Vec<u8> {
        // SAFETY: `a` is a live array; data/len describe item `i`.
        unsafe {
            std::slice::from_raw_parts(
                nyc_array_item_data(a, i).cast::<u8>(),
                nyc_array_item_len(a, i),
            )
            .to_vec()
        }
    }

    unsafe extern "C" fn record(
        user: *mut c_void,
        channel: *const c_void,
        channel_len: usize,
        pattern: *const c_void,
        pattern_len: usize,
        data: *const c_void,
        data_len: usize,
    ) {
        // SAFETY: `user` is the test's Mutex; the ranges are valid for this call (pattern NULL only with 0).
        unsafe {
            let seen = &*user.cast::<Mutex<Vec<(Vec<u8>, Option<Vec<u8>>, Vec<u8>)>>>();
            let c = std::slice::from_raw_parts(channel.cast::<u8>(), channel_len).to_vec();
            let p = (!pattern.is_null())
                .then(|| std::slice::from_raw_parts(pattern.cast::<u8>(), pattern_len).to_vec());
            let d = std::slice::from_raw_parts(data.cast::<u8>(), data_len).to_vec();
            seen.lock().unwrap().push((c, p, d));
        }
    }

    #[test]
    fn the_c_default_capacity_is_the_engine_default() {
        assert_eq!(NYC_DEFAULT_QUEUE_CAPACITY, crate::pubsub::DEFAULT_QUEUE_CAPACITY);
    }

    #[test]
    fn queue_and_callback_through_the_c_functions() {
        let seen: Mutex<Vec<(Vec<u8>, Option<Vec<u8>>, Vec<u8>)>> = Mutex::new(Vec::new());
        let (mut cache, mut q, mut cb, mut arr, mut n) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            99usize,
        );
        // SAFETY: every pointer is live or NULL where the API allows it; handles are freed once.
        unsafe {
            assert_eq!(
                nyc_open(c"maintenance_ms=0".as_ptr(), &mut cache),
                nyc_status::NYC_OK
            );
            assert_eq!(
                nyc_subscribe(cache, b"a.*".as_ptr().cast(), 3, 1, 2, &mut q),
                nyc_status::NYC_OK
            );
            let user = (&raw const seen).cast_mut().cast();
            assert_eq!(
                nyc_subscribe_callback(
                    cache,
                    b"a.b".as_ptr().cast(),
                    3,
                    0,
                    Some(record),
                    user,
                    None,
                    &mut cb
                ),
                nyc_status::NYC_OK
            );
            assert!(nyc_subscription_fd(q) >= 0);
            assert_eq!(nyc_subscription_fd(cb), -1);
            assert_eq!(
                nyc_subscription_drain(q, 0, &mut arr),
                nyc_status::NYC_NOT_FOUND
            );
            assert!(arr.is_null());
            assert_eq!(
                nyc_publish(
                    cache,
                    b"a.b".as_ptr().cast(),
                    3,
                    b"x".as_ptr().cast(),
                    1,
                    &mut n
                ),
                nyc_status::NYC_OK
            );
            assert_eq!(n, 2);
            for m in [&b"1"[..], b"2", b"3"] {
                assert_eq!(
                    nyc_publish(
                        cache,
                        b"a.c".as_ptr().cast(),
                        3,
                        m.as_ptr().cast(),
                        1,
                        std::ptr::null_mut()
                    ),
                    nyc_status::NYC_OK
                );
            }
            assert_eq!(
                (nyc_subscription_pending(q), nyc_subscription_dropped(q)),
                (2, 2)
            );
            assert_eq!(nyc_subscription_drain(q, 0, &mut arr), nyc_status::NYC_OK);
            assert_eq!(nyc_array_count(arr), 4);
            assert_eq!(
                (item(arr, 0), item(arr, 1), item(arr, 2), item(arr, 3)),
                (
                    b"a.c".to_vec(),
                    b"2".to_vec(),
                    b"a.c".to_vec(),
                    b"3".to_vec()
                )
            );
            nyc_array_free(arr);
            assert_eq!(
                *seen.lock().unwrap(),
                [(b"a.b".to_vec(), None, b"x".to_vec())]
            );
            let mut unused = std::ptr::null_mut();
            assert_eq!(
                nyc_subscription_drain(cb, 0, &mut unused),
                nyc_status::NYC_INVALID_ARGUMENT
            );
            assert_eq!(
                nyc_subscription_drain(std::ptr::null(), 0, &mut unused),
                nyc_status::NYC_INVALID_ARGUMENT
            );
            let mut no_sub = std::ptr::null_mut();
            assert_eq!(
                nyc_subscribe_callback(
                    cache,
                    b"c".as_ptr().cast(),
                    1,
                    0,
                    None,
                    std::ptr::null_mut(),
                    None,
                    &mut no_sub
                ),
                nyc_status::NYC_INVALID_ARGUMENT
            );
            assert!(no_sub.is_null());
            assert_eq!(
                nyc_publish(cache, std::ptr::null(), 5, std::ptr::null(), 0, &mut n),
                nyc_status::NYC_INVALID_ARGUMENT
            );
            nyc_unsubscribe(cb);
            // Closing the cache first leaves the subscription usable.
            nyc_close(cache);
            assert_eq!(nyc_subscription_pending(q), 0);
            assert_eq!(
                nyc_subscription_drain(q, 0, &mut arr),
                nyc_status::NYC_NOT_FOUND
            );
            nyc_unsubscribe(q);
            nyc_unsubscribe(std::ptr::null_mut());
        }
    }
}
