//! `DnsUdpPump`: a UDP socket's DNS queries answered on a native thread, in batches (Linux).
//!
//! Why: on the asyncio path each query costs a `recvmsg`, a `sendmsg` and a pass through the
//! interpreter, and the kernel's per-call cost dominated the server's time. The pump's thread
//! reads up to [`BATCH`] datagrams with one `recvmmsg`, answers each with the very catalog
//! the Python `DnsCatalog` holds (no GIL, no Python objects), and writes the responses back
//! with one `sendmmsg`, as NSD does. Queries the engine passes on (NOTIFY, AXFR/IXFR,
//! recursion) go to a bounded queue; an eventfd tells the asyncio loop to `drain` it.
//!
//! The pump works on its own `dup` of the socket, so the Python socket keeps ownership and
//! either may be closed first. Stopping is a flag plus an eventfd in the thread's `poll`
//! set, and the thread never blocks longer than [`POLL_MS`], so `close` (and drop) join it
//! promptly.

use std::collections::VecDeque;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use plait_dns::Outcome;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::dns_catalog::{DnsCatalog, SharedCatalog};

/// The most datagrams read (and answers written) per system call.
pub(crate) const BATCH: usize = 64;
/// Bytes kept for one datagram: the largest UDP payload, so none is ever cut short.
const SLOT: usize = 65536;
/// The longest the thread waits in `poll` before it looks at the stop flag again.
const POLL_MS: i32 = 100;
/// How long one wait for room in the send buffer lasts, and how many are tried per batch.
const SEND_WAIT_MS: i32 = 20;
const SEND_WAITS: usize = 5;
/// The largest bound of the queue of passed queries (the default, 1024, is in `new`).
const LIMIT_MAX_QUEUE: usize = 1 << 20;

/// Registers `DnsUdpPump` on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DnsUdpPump>()
}

/// A query handed to Python: its bytes and where it came from.
struct Passed {
    data: Vec<u8>,
    addr: SocketAddr,
}

/// Counters, read by `stats()`.
#[derive(Default)]
struct Stats {
    received: AtomicU64,
    answered: AtomicU64,
    passed: AtomicU64,
    overflow: AtomicU64,
    dropped: AtomicU64,
    send_errors: AtomicU64,
    recv_errors: AtomicU64,
    batches: AtomicU64,
    panics: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// What the thread and the Python object share.
struct Shared {
    stop: AtomicBool,
    queue: Mutex<VecDeque<Passed>>,
    max_queue: usize,
    /// Readable while passed queries wait (Python watches it).
    wakeup: OwnedFd,
    /// Made readable to stop the thread.
    halt: OwnedFd,
    stats: Stats,
}

impl Shared {
    fn pass(&self, data: &[u8], name: &libc::sockaddr_storage) {
        let Some(addr) = socket_addr(name) else {
            bump(&self.stats.dropped, 1);
            return;
        };
        let Ok(mut q) = self.queue.lock() else {
            bump(&self.stats.overflow, 1);
            return;
        };
        if q.len() >= self.max_queue {
            bump(&self.stats.overflow, 1);
            return;
        }
        let was_empty = q.is_empty();
        q.push_back(Passed {
            data: data.to_vec(),
            addr,
        });
        drop(q);
        bump(&self.stats.passed, 1);
        if was_empty {
            signal(self.wakeup.as_raw_fd());
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        signal(self.halt.as_raw_fd());
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by eventfd and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd's counter (it cannot overflow in practice; EAGAIN is ignored).
fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Resets an eventfd's counter.
fn clear(fd: RawFd) {
    let mut n: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live u64.
    unsafe { libc::read(fd, (&mut n as *mut u64).cast(), 8) };
}

/// The address in a `sockaddr_storage` the kernel filled in, if it is IPv4 or IPv6.
fn socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large
            // enough and aligned for.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                u32::from_be(a.sin6_flowinfo),
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A header-only SERVFAIL for a query the engine failed on (None for a response or runt),
/// as the Python server's `_raw_error` makes it.
fn servfail(q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let flags = 0x8000u16 | ((u16::from(q[2]) << 8) & 0x7900) | 2;
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&q[..2]);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// Waits until `fd` is ready for `events` or the halt eventfd fires, at most `ms`.
fn wait(fd: RawFd, events: libc::c_short, halt: RawFd, ms: i32) {
    let mut fds = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: halt,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two live pollfd structures.
    unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
}

/// The thread's buffers: datagrams in, their source addresses, and the headers for both calls.
struct Batch {
    data: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    out: Vec<(usize, Vec<u8>)>,
    out_iovs: Vec<libc::iovec>,
    out_hdrs: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new() -> Batch {
        // SAFETY: all-zero bytes are valid for these plain C structures.
        let zero_name: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { mem::zeroed() };
        let zero_iov = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        Batch {
            data: vec![0u8; BATCH * SLOT],
            names: vec![zero_name; BATCH],
            iovs: vec![zero_iov; BATCH],
            hdrs: vec![zero_hdr; BATCH],
            out: Vec::with_capacity(BATCH),
            out_iovs: vec![zero_iov; BATCH],
            out_hdrs: vec![zero_hdr; BATCH],
        }
    }

    /// Reads what is waiting, up to BATCH datagrams, without blocking: their number, or
    /// the errno.
    fn receive(&mut self, fd: RawFd) -> Result<usize, i32> {
        let base = self.data.as_mut_ptr();
        for i in 0..BATCH {
            // SAFETY: i * SLOT + SLOT <= data.len(), so the pointer stays in the buffer.
            self.iovs[i] = libc::iovec {
                iov_base: unsafe { base.add(i * SLOT) }.cast(),
                iov_len: SLOT,
            };
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: BATCH headers, each pointing at its own live iovec, buffer slot and
        // address storage, all of which outlive the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as _,
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            Err(errno())
        } else {
            Ok(n as usize)
        }
    }

    /// The i-th datagram read.
    fn datagram(&self, i: usize) -> &[u8] {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT);
        &self.data[i * SLOT..i * SLOT + len]
    }

    /// Sends `out` (each to the address its datagram came from) with as few `sendmmsg` as
    /// the kernel allows; a message the kernel refuses is counted and skipped, and a full
    /// send buffer is waited on a bounded number of times.
    fn send(&mut self, fd: RawFd, sh: &Shared) {
        let count = self.out.len();
        for (k, (i, wire)) in self.out.iter().enumerate() {
            self.out_iovs[k] = libc::iovec {
                iov_base: wire.as_ptr() as *mut libc::c_void,
                iov_len: wire.len(),
            };
            let h = &mut self.out_hdrs[k].msg_hdr;
            h.msg_name = (&mut self.names[*i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = self.hdrs[*i].msg_hdr.msg_namelen;
            h.msg_iov = &mut self.out_iovs[k];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.out_hdrs[k].msg_len = 0;
        }
        let mut done = 0;
        let mut waits = 0;
        while done < count {
            // SAFETY: out_hdrs[done..count] point at live iovecs, responses and addresses.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.out_hdrs.as_mut_ptr().add(done),
                    (count - done) as _,
                    libc::MSG_DONTWAIT as _,
                )
            };
            if r > 0 {
                bump(&sh.stats.answered, r as u64);
                done += r as usize;
                continue;
            }
            match errno() {
                libc::EINTR => {}
                libc::EAGAIN | libc::ENOBUFS
                    if waits < SEND_WAITS && !sh.stop.load(Ordering::Acquire) =>
                {
                    waits += 1;
                    wait(fd, libc::POLLOUT, sh.halt.as_raw_fd(), SEND_WAIT_MS);
                }
                libc::EAGAIN | libc::ENOBUFS => {
                    bump(&sh.stats.send_errors, (count - done) as u64);
                    break;
                }
                _ => {
                    // This one address or message is refused (EMSGSIZE, EACCES, ...).
                    bump(&sh.stats.send_errors, 1);
                    done += 1;
                }
            }
        }
        self.out.clear();
    }
}

/// The thread: read a batch, answer it, write the answers, until told to stop.
fn run(sock: OwnedFd, catalog: Arc<SharedCatalog>, sh: Arc<Shared>) {
    let fd = sock.as_raw_fd();
    let halt = sh.halt.as_raw_fd();
    let mut b = Batch::new();
    let cfg = catalog.config;
    while !sh.stop.load(Ordering::Acquire) {
        let n = match b.receive(fd) {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(libc::EAGAIN) => {
                wait(fd, libc::POLLIN, halt, POLL_MS);
                continue;
            }
            Err(libc::EINTR) => continue,
            Err(libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EFAULT) => {
                bump(&sh.stats.recv_errors, 1);
                break; // the socket is unusable: nothing more to do
            }
            Err(_) => {
                // A pending error from an earlier send (ICMP unreachable, ...): reported once.
                bump(&sh.stats.recv_errors, 1);
                continue;
            }
        };
        bump(&sh.stats.received, n as u64);
        bump(&sh.stats.batches, 1);
        let Some(cat) = catalog.current() else {
            bump(&sh.stats.dropped, n as u64);
            continue;
        };
        for i in 0..n {
            let q = b.datagram(i);
            match catch_unwind(AssertUnwindSafe(|| cat.answer(q, false, &cfg))) {
                Ok(Outcome::Response(wire)) => b.out.push((i, wire)),
                Ok(Outcome::Pass) => sh.pass(q, &b.names[i]),
                Ok(Outcome::Drop) => bump(&sh.stats.dropped, 1),
                Err(_) => {
                    bump(&sh.stats.panics, 1);
                    match servfail(q) {
                        Some(wire) => b.out.push((i, wire)),
                        None => bump(&sh.stats.dropped, 1),
                    }
                }
            }
        }
        if !b.out.is_empty() {
            b.send(fd, &sh);
        }
    }
    drop(sock);
}

/// Answers DNS queries arriving on a UDP socket on a native thread, in batches (Linux only).
///
/// ``fd`` is the socket's descriptor (it is duplicated: the caller keeps its socket);
/// ``catalog`` the zones to answer from (changes to it apply at once). Queries the catalog
/// passes on wait in a queue of at most ``max_queue`` (more are counted and dropped):
/// ``wakeup_fd`` becomes readable when there are some, and ``drain()`` takes them.
#[pyclass(module = "plait._native", frozen)]
pub(crate) struct DnsUdpPump {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl DnsUdpPump {
    fn join(&self) {
        self.shared.stop();
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for DnsUdpPump {
    fn drop(&mut self) {
        self.join();
    }
}

#[pymethods]
impl DnsUdpPump {
    #[new]
    #[pyo3(signature = (fd, catalog, *, max_queue=1024))]
    fn new(fd: RawFd, catalog: &Bound<'_, DnsCatalog>, max_queue: usize) -> PyResult<Self> {
        if !(1..=LIMIT_MAX_QUEUE).contains(&max_queue) {
            return Err(PyValueError::new_err(format!(
                "max_queue must be 1..={LIMIT_MAX_QUEUE}"
            )));
        }
        if fd < 0 {
            return Err(PyValueError::new_err(
                "fd must be an open socket descriptor",
            ));
        }
        let mut kind: libc::c_int = 0;
        let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `kind`.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut kind as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(PyOSError::new_err(format!(
                "fd {fd} is not a socket: {}",
                io::Error::last_os_error()
            )));
        }
        if kind != libc::SOCK_DGRAM {
            return Err(PyValueError::new_err(
                "DnsUdpPump needs a UDP (SOCK_DGRAM) socket",
            ));
        }
        // SAFETY: F_DUPFD_CLOEXEC takes an int argument and returns a new descriptor.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(PyOSError::new_err(io::Error::last_os_error().to_string()));
        }
        // SAFETY: dup is a fresh descriptor nobody else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(dup) };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            queue: Mutex::new(VecDeque::new()),
            max_queue,
            wakeup: eventfd().map_err(|e| PyOSError::new_err(e.to_string()))?,
            halt: eventfd().map_err(|e| PyOSError::new_err(e.to_string()))?,
            stats: Stats::default(),
        });
        let cat = catalog.get().shared();
        let sh = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("plait-dns-udp".into())
            .spawn(move || run(sock, cat, sh))
            .map_err(|e| {
                PyRuntimeError::new_err(format!("cannot start the UDP pump thread: {e}"))
            })?;
        Ok(DnsUdpPump {
            shared,
            thread: Mutex::new(Some(handle)),
        })
    }

    /// The descriptor that is readable while passed queries wait for ``drain()``.
    #[getter]
    fn wakeup_fd(&self) -> RawFd {
        self.shared.wakeup.as_raw_fd()
    }

    /// The passed queries waiting, oldest first, as ``(bytes, address)`` (at most ``limit``),
    /// with addresses as the socket module gives them; resets ``wakeup_fd``.
    #[pyo3(signature = (limit=None))]
    fn drain<'py>(&self, py: Python<'py>, limit: Option<usize>) -> PyResult<Bound<'py, PyList>> {
        clear(self.shared.wakeup.as_raw_fd());
        let taken: Vec<Passed> = {
            let mut q = self
                .shared
                .queue
                .lock()
                .map_err(|_| PyRuntimeError::new_err("DnsUdpPump queue lock poisoned"))?;
            let n = limit.unwrap_or(usize::MAX).min(q.len());
            let rest = q.len() - n;
            let out = q.drain(..n).collect();
            if rest > 0 {
                signal(self.shared.wakeup.as_raw_fd());
            }
            out
        };
        let list = PyList::empty(py);
        for p in taken {
            let addr = match p.addr {
                SocketAddr::V4(a) => (a.ip().to_string(), a.port()).into_pyobject(py)?.into_any(),
                SocketAddr::V6(a) => (a.ip().to_string(), a.port(), a.flowinfo(), a.scope_id())
                    .into_pyobject(py)?
                    .into_any(),
            };
            let item = PyTuple::new(py, [PyBytes::new(py, &p.data).into_any(), addr])?;
            list.append(item)?;
        }
        Ok(list)
    }

    /// How many passed queries wait.
    #[getter]
    fn pending(&self) -> usize {
        self.shared.queue.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// The bound on waiting passed queries.
    #[getter]
    fn max_queue(&self) -> usize {
        self.shared.max_queue
    }

    /// Whether the thread is still answering.
    #[getter]
    fn running(&self) -> bool {
        self.thread
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false)
    }

    /// Counters: ``received``, ``answered`` (responses sent), ``passed`` (queued for
    /// Python), ``overflow`` (passed but dropped: the queue was full), ``dropped`` (nothing
    /// to send), ``send_errors``, ``recv_errors``, ``batches`` and ``panics``.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.shared.stats;
        let d = PyDict::new(py);
        for (k, v) in [
            ("received", &s.received),
            ("answered", &s.answered),
            ("passed", &s.passed),
            ("overflow", &s.overflow),
            ("dropped", &s.dropped),
            ("send_errors", &s.send_errors),
            ("recv_errors", &s.recv_errors),
            ("batches", &s.batches),
            ("panics", &s.panics),
        ] {
            d.set_item(k, v.load(Ordering::Relaxed))?;
        }
        Ok(d)
    }

    /// Stops the thread and waits for it (within about 0.1 s); the pump's duplicate of the
    /// socket is closed. Queries still queued can be drained afterwards. Safe to call twice.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.join());
    }
}
