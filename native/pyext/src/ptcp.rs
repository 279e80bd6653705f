//! `PtcpEndpoint`: a thin wrapper over `plait_ptcp::Endpoint` for the asyncio adapter
//! (`plait.vertex.ptcp`), plus batched datagram I/O on the UDP socket's descriptor.
//!
//! Why the batch path: per datagram, the asyncio path costs a `recvfrom`, a Python callback
//! and a `sendto`; at hundreds of thousands of packets a second that is the whole budget.
//! `pump()` reads up to [`BATCH`] datagrams per `recvmmsg` (until the socket is empty or a
//! budget is spent), feeds them to the engine, and `flush()` writes the engine's packets
//! with `sendmmsg`, so Python sees one call per batch and one `bytes` per connection.
//! The clock is read here (`Instant::now()`), never in the engine.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use plait_ptcp::{CloseReason, Config, ConnectionHandle, DatagramOutcome, Endpoint, Event, ReadResult, State, StreamError, Transmit};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::juice::new_bytes;

/// The most datagrams read (or written) per system call.
const BATCH: usize = 64;
/// Most batches one `pump()` reads before it lets the loop run.
const PUMP_BATCHES: usize = 32;
/// Bytes kept per received datagram (the largest UDP payload: foreign datagrams are whole).
const SLOT: usize = 65536;

pyo3::create_exception!(
    plait._native,
    PtcpError,
    pyo3::exceptions::PyException,
    "A PTCP stream operation that cannot be done (unknown or closed connection, stream\nalready finished, endpoint full)."
);

/// Registers the PTCP names on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("PtcpError", m.py().get_type::<PtcpError>())?;
    m.add("PTCP_BATCH_IO", cfg!(target_os = "linux"))?;
    m.add_class::<PtcpEndpoint>()
}

fn err(e: StreamError) -> PyErr {
    PtcpError::new_err(e.to_string())
}

fn py_addr<'py>(py: Python<'py>, a: SocketAddr) -> PyResult<Bound<'py, PyTuple>> {
    (a.ip().to_string(), a.port()).into_pyobject(py)
}

fn parse_addr(host: &str, port: u16) -> PyResult<SocketAddr> {
    let ip: IpAddr = host.parse().map_err(|_| PyValueError::new_err(format!("not an IP address: {host:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

fn secs(name: &str, v: f64) -> PyResult<Duration> {
    if !v.is_finite() || !(0.0..=86400.0 * 365.0).contains(&v) {
        return Err(PyValueError::new_err(format!("{name} must be a number of seconds >= 0")));
    }
    Ok(Duration::from_secs_f64(v))
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is keyed from the OS's randomness once per process and then varied.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// One UDP socket's PTCP connections.
///
/// ``fd``: the socket's descriptor, for ``pump()``/``flush()`` (Linux; the caller keeps the
/// socket open while this object uses it); None for the datagram path (``receive()`` and
/// ``datagrams_to_send()``). The keyword arguments are ``plait_ptcp::Config``'s limits
/// (times in seconds; ``keepalive_interval=None`` turns keepalive off).
#[pyclass(module = "plait._native")]
pub struct PtcpEndpoint {
    ep: Endpoint,
    fd: Option<i32>,
    foreign: VecDeque<(Vec<u8>, SocketAddr)>,
    max_foreign: usize,
    foreign_dropped: u64,
    paused: HashSet<u64>,
    recheck: Vec<u64>,
    unsent: VecDeque<Transmit>,
    max_unsent: usize,
    send_dropped: u64,
    #[cfg(target_os = "linux")]
    io: Option<batch::Buffers>,
}

impl PtcpEndpoint {
    fn collect_transmits(&mut self, now: Instant) {
        while self.unsent.len() < self.max_unsent {
            match self.ep.poll_transmit(now) {
                Some(t) => self.unsent.push_back(t),
                None => break,
            }
        }
    }

    fn take_foreign(&mut self, data: &[u8], addr: SocketAddr) {
        if self.foreign.len() >= self.max_foreign {
            self.foreign_dropped += 1;
        } else {
            self.foreign.push_back((data.to_vec(), addr));
        }
    }

    /// Reads everything buffered on `h` into one bytes object (and notes the EOF).
    fn read_all<'py>(&mut self, py: Python<'py>, h: u64, out: &Bound<'py, PyList>) -> PyResult<()> {
        let handle = ConnectionHandle(h);
        let mut data: Option<Bound<'py, PyAny>> = None;
        let mut made: PyResult<()> = Ok(());
        let r = self.ep.read_with(handle, usize::MAX, |a, b| {
            let total = a.len() + b.len();
            match PyBytes::new_with(py, total, |buf| {
                buf[..a.len()].copy_from_slice(a);
                buf[a.len()..].copy_from_slice(b);
                Ok(())
            }) {
                Ok(bytes) => data = Some(bytes.into_any()),
                Err(e) => made = Err(e),
            }
        });
        made?;
        if let Some(d) = data {
            out.append(("data", h, d))?;
        }
        match r {
            Ok(ReadResult::Finished) => out.append(("eof", h))?,
            Ok(ReadResult::Data(_))
                if self.ep.readable_len(handle).unwrap_or(0) == 0
                    && self.ep.read(handle, &mut []) == Ok(ReadResult::Finished) =>
            {
                out.append(("eof", h))?
            }
            _ => {}
        }
        Ok(())
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::SynSent => "SYN-SENT",
        State::SynReceived => "SYN-RECEIVED",
        State::Established => "ESTABLISHED",
        State::FinWait1 => "FIN-WAIT-1",
        State::FinWait2 => "FIN-WAIT-2",
        State::Closing => "CLOSING",
        State::TimeWait => "TIME-WAIT",
        State::CloseWait => "CLOSE-WAIT",
        State::LastAck => "LAST-ACK",
        State::Closed => "CLOSED",
    }
}

#[pymethods]
impl PtcpEndpoint {
    #[new]
    #[pyo3(signature = (fd=None, *, seed=None, mtu=1400, max_connections=1024, max_half_open=128,
        send_buffer=2097152, recv_buffer=2097152, initial_rto=1.0, min_rto=0.2, max_rto=10.0,
        user_timeout=60.0, keepalive_interval=15.0, keepalive_probes=4, time_wait=2.0,
        ack_delay=0.005, initial_window=10, pacing=true, max_foreign=1024, max_unsent=65536))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        fd: Option<i32>, seed: Option<u64>, mtu: usize, max_connections: usize, max_half_open: usize,
        send_buffer: usize, recv_buffer: usize, initial_rto: f64, min_rto: f64, max_rto: f64,
        user_timeout: f64, keepalive_interval: Option<f64>, keepalive_probes: u32, time_wait: f64,
        ack_delay: f64, initial_window: u32, pacing: bool, max_foreign: usize, max_unsent: usize,
    ) -> PyResult<Self> {
        let cfg = Config {
            mtu,
            max_connections,
            max_half_open,
            send_buffer,
            recv_buffer,
            initial_rto: secs("initial_rto", initial_rto)?,
            min_rto: secs("min_rto", min_rto)?,
            max_rto: secs("max_rto", max_rto)?,
            user_timeout: secs("user_timeout", user_timeout)?,
            keepalive_interval: keepalive_interval.map(|k| secs("keepalive_interval", k)).transpose()?,
            keepalive_probes,
            time_wait: secs("time_wait", time_wait)?,
            ack_delay: secs("ack_delay", ack_delay)?,
            initial_window,
            pacing,
            ..Config::default()
        };
        if !(1..=1 << 20).contains(&max_foreign) || !(1..=1 << 22).contains(&max_unsent) {
            return Err(PyValueError::new_err("max_foreign must be 1..=1048576 and max_unsent 1..=4194304"));
        }
        if let Some(f) = fd {
            if f < 0 {
                return Err(PyValueError::new_err("fd must be an open socket descriptor"));
            }
            if !cfg!(target_os = "linux") {
                return Err(PyOSError::new_err("batched PTCP socket I/O needs Linux (pass fd=None)"));
            }
        }
        let ep = Endpoint::new(cfg, seed.unwrap_or_else(random_seed)).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PtcpEndpoint {
            ep,
            fd,
            foreign: VecDeque::new(),
            max_foreign,
            foreign_dropped: 0,
            paused: HashSet::new(),
            recheck: Vec::new(),
            unsent: VecDeque::new(),
            max_unsent,
            send_dropped: 0,
            #[cfg(target_os = "linux")]
            io: fd.map(|_| batch::Buffers::new()),
        })
    }

    /// Accept incoming connections (or stop accepting).
    #[pyo3(signature = (on=true))]
    fn listen(&mut self, on: bool) {
        self.ep.set_listening(on);
    }

    /// Opens a connection to ``(host, port)`` (an IP address); returns its handle.
    fn connect(&mut self, host: &str, port: u16) -> PyResult<u64> {
        let a = parse_addr(host, port)?;
        self.ep.connect(Instant::now(), a).map(|h| h.0).map_err(err)
    }

    /// Datagram path: one received datagram.
    fn receive(&mut self, data: &[u8], addr: (String, u16)) -> PyResult<()> {
        let a = parse_addr(&addr.0, addr.1)?;
        if self.ep.handle_datagram(Instant::now(), a, data) == DatagramOutcome::Foreign {
            self.take_foreign(data, a);
        }
        Ok(())
    }

    /// Datagram path: the packets to send now, as ``[(bytes, (host, port)), ...]``.
    fn datagrams_to_send<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.collect_transmits(Instant::now());
        let out = PyList::empty(py);
        for t in self.unsent.drain(..) {
            out.append((new_bytes(py, &t.contents)?, py_addr(py, t.destination)?))?;
        }
        Ok(out)
    }

    /// Batch path: reads what the socket holds (bounded), processes it, sends the answers.
    /// Returns the number of datagrams read.
    fn pump(&mut self) -> PyResult<usize> {
        #[cfg(target_os = "linux")]
        {
            let (Some(fd), Some(mut io)) = (self.fd, self.io.take()) else {
                return Err(PyOSError::new_err("this endpoint has no socket (fd=None)"));
            };
            let mut total = 0;
            let mut result = Ok(());
            for _ in 0..PUMP_BATCHES {
                match io.receive(fd) {
                    Ok(0) => break,
                    Ok(n) => {
                        total += n;
                        let now = Instant::now();
                        for i in 0..n {
                            let (d, a) = io.datagram(i);
                            let Some(a) = a else { continue };
                            if self.ep.handle_datagram(now, a, d) == DatagramOutcome::Foreign {
                                self.take_foreign(d, a);
                            }
                        }
                        if n < BATCH {
                            break;
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            self.io = Some(io);
            self.flush()?;
            result.map(|_| total).map_err(|e| PyOSError::new_err(e.to_string()))
        }
        #[cfg(not(target_os = "linux"))]
        Err(PyOSError::new_err("batched PTCP socket I/O needs Linux"))
    }

    /// Batch path: sends every packet the engine has; True when the socket was full and
    /// some wait (call again when it is writable).
    fn flush(&mut self) -> PyResult<bool> {
        #[cfg(target_os = "linux")]
        {
            let (Some(fd), Some(mut io)) = (self.fd, self.io.take()) else {
                return Err(PyOSError::new_err("this endpoint has no socket (fd=None)"));
            };
            let mut blocked = false;
            loop {
                self.collect_transmits(Instant::now());
                if self.unsent.is_empty() {
                    break;
                }
                let (sent, dropped, full) = io.send(fd, &self.unsent);
                self.send_dropped += dropped as u64;
                self.unsent.drain(..sent + dropped);
                if full {
                    blocked = true;
                    break;
                }
            }
            self.io = Some(io);
            Ok(blocked)
        }
        #[cfg(not(target_os = "linux"))]
        Err(PyOSError::new_err("batched PTCP socket I/O needs Linux"))
    }

    /// What happened, as tuples: ``("connected", h)``, ``("incoming", h, addr)``,
    /// ``("data", h, bytes)``, ``("eof", h)``, ``("writable", h)``, ``("closed", h, reason)``
    /// (reason: "finished", "reset", "refused", "timed out") and ``("foreign", bytes, addr)``.
    /// Data of connections whose reading is not paused is read here.
    fn events<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for h in std::mem::take(&mut self.recheck) {
            if !self.paused.contains(&h) {
                self.read_all(py, h, &out)?;
            }
        }
        while let Some(e) = self.ep.poll_event() {
            match e {
                Event::Connected(h) => out.append(("connected", h.0))?,
                Event::Incoming(h) => {
                    let a = self.ep.remote(h).map_err(err)?;
                    out.append(("incoming", h.0, py_addr(py, a)?))?
                }
                Event::Readable(h) => {
                    if !self.paused.contains(&h.0) {
                        self.read_all(py, h.0, &out)?;
                    }
                }
                Event::Writable(h) => out.append(("writable", h.0))?,
                Event::Closed(h, r) => {
                    self.paused.remove(&h.0);
                    out.append(("closed", h.0, r.as_str()))?
                }
            }
        }
        for (d, a) in self.foreign.drain(..) {
            out.append(("foreign", new_bytes(py, &d)?, py_addr(py, a)?))?;
        }
        Ok(out)
    }

    /// Buffers what fits of ``data``; returns how much was taken.
    fn write(&mut self, h: u64, data: &[u8]) -> PyResult<usize> {
        self.ep.write(ConnectionHandle(h), data).map_err(err)
    }

    /// Finishes the sending direction (FIN after the buffered data).
    fn close(&mut self, h: u64) -> PyResult<()> {
        self.ep.close(ConnectionHandle(h)).map_err(err)
    }

    /// Aborts the connection with a RST; the handle is gone at once.
    fn reset(&mut self, h: u64) -> PyResult<()> {
        self.paused.remove(&h);
        self.ep.reset(Instant::now(), ConnectionHandle(h)).map_err(err)
    }

    /// Stops delivering ``h``'s data (it stays buffered, and the window closes).
    fn pause_reading(&mut self, h: u64) {
        self.paused.insert(h);
    }

    /// Delivers ``h``'s data again (from the next ``events()``).
    fn resume_reading(&mut self, h: u64) {
        if self.paused.remove(&h) {
            self.recheck.push(h);
        }
    }

    /// Bytes written to ``h`` and not yet acknowledged.
    fn send_buffered(&self, h: u64) -> PyResult<usize> {
        self.ep.send_buffered(ConnectionHandle(h)).map_err(err)
    }

    /// Free room in ``h``'s send buffer.
    fn send_room(&self, h: u64) -> PyResult<usize> {
        self.ep.send_room(ConnectionHandle(h)).map_err(err)
    }

    /// ``h``'s state, as RFC 793 names it ("ESTABLISHED", "TIME-WAIT", ...).
    fn state(&self, h: u64) -> PyResult<&'static str> {
        self.ep.state(ConnectionHandle(h)).map(state_name).map_err(err)
    }

    /// ``h``'s peer address.
    fn remote<'py>(&self, py: Python<'py>, h: u64) -> PyResult<Bound<'py, PyTuple>> {
        py_addr(py, self.ep.remote(ConnectionHandle(h)).map_err(err)?)
    }

    /// ``(smoothed RTT in seconds or None, congestion window in bytes)`` of ``h``.
    fn path_stats(&self, h: u64) -> PyResult<(Option<f64>, u64)> {
        let (rtt, cwnd) = self.ep.path_stats(ConnectionHandle(h)).map_err(err)?;
        Ok((rtt.map(|d| d.as_secs_f64()), cwnd))
    }

    /// Seconds until ``handle_timeout()`` is due (0 if overdue), or None.
    fn timeout(&self) -> Option<f64> {
        let now = Instant::now();
        self.ep.poll_timeout().map(|t| t.saturating_duration_since(now).as_secs_f64())
    }

    /// Runs the timers that are due.
    fn handle_timeout(&mut self) {
        self.ep.handle_timeout(Instant::now());
    }

    /// How many connections exist (every state, half-open and TIME-WAIT included).
    #[getter]
    fn connection_count(&self) -> usize {
        self.ep.connection_count()
    }

    /// Counters: ``packets_in``, ``packets_out``, ``invalid``, ``foreign``, ``unmatched``,
    /// ``resets_sent``, ``stateless_dropped``, ``half_open_evicted``, ``refused``,
    /// ``half_open``, ``foreign_dropped``, ``send_dropped``.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.ep.stats();
        let d = PyDict::new(py);
        for (k, v) in [
            ("packets_in", s.packets_in),
            ("packets_out", s.packets_out),
            ("invalid", s.invalid),
            ("foreign", s.foreign),
            ("unmatched", s.unmatched),
            ("resets_sent", s.resets_sent),
            ("stateless_dropped", s.stateless_dropped),
            ("half_open_evicted", s.half_open_evicted),
            ("refused", s.refused),
            ("half_open", self.ep.half_open_count() as u64),
            ("foreign_dropped", self.foreign_dropped),
            ("send_dropped", self.send_dropped),
        ] {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
}

#[allow(dead_code)]
fn _reasons_are_named(r: CloseReason) -> &'static str {
    r.as_str()
}

#[cfg(target_os = "linux")]
mod batch {
    //! recvmmsg/sendmmsg over plain buffers.
    use std::collections::VecDeque;
    use std::io;
    use std::mem;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

    use plait_ptcp::Transmit;

    use super::{BATCH, SLOT};

    pub(super) struct Buffers {
        data: Vec<u8>,
        names: Vec<libc::sockaddr_storage>,
        iovs: Vec<libc::iovec>,
        hdrs: Vec<libc::mmsghdr>,
        out_names: Vec<libc::sockaddr_storage>,
        out_iovs: Vec<libc::iovec>,
        out_hdrs: Vec<libc::mmsghdr>,
    }

    // SAFETY: the raw pointers inside are only ever set to this struct's own buffers right
    // before a system call, never shared.
    unsafe impl Send for Buffers {}
    // SAFETY: as above; every use goes through `&mut self`.
    unsafe impl Sync for Buffers {}

    fn to_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match i32::from(s.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)), u16::from_be(a.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a.sin6_addr.s6_addr), u16::from_be(a.sin6_port), a.sin6_flowinfo, a.sin6_scope_id)))
            }
            _ => None,
        }
    }

    fn from_addr(a: &SocketAddr, s: &mut libc::sockaddr_storage) -> libc::socklen_t {
        match a {
            SocketAddr::V4(v4) => {
                // SAFETY: sockaddr_storage is large enough and aligned for a sockaddr_in.
                let p = unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                p.sin_family = libc::AF_INET as libc::sa_family_t;
                p.sin_port = v4.port().to_be();
                p.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(v6) => {
                // SAFETY: as above, for sockaddr_in6.
                let p = unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                p.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                p.sin6_port = v6.port().to_be();
                p.sin6_flowinfo = v6.flowinfo();
                p.sin6_addr = libc::in6_addr { s6_addr: v6.ip().octets() };
                p.sin6_scope_id = v6.scope_id();
                mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }

    /// Points one message header at its address storage and its single iovec.
    fn point(m: &mut libc::mmsghdr, name: &mut libc::sockaddr_storage, namelen: libc::socklen_t, iov: &mut libc::iovec) {
        // SAFETY: all-zero bytes are a valid msghdr; the fields set below are all it needs.
        m.msg_hdr = unsafe { mem::zeroed() };
        m.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
        m.msg_hdr.msg_namelen = namelen;
        m.msg_hdr.msg_iov = iov;
        m.msg_hdr.msg_iovlen = 1;
        m.msg_len = 0;
    }

    impl Buffers {
        pub fn new() -> Buffers {
            // SAFETY: all-zero bytes are valid for these plain C structures.
            let zero_name: libc::sockaddr_storage = unsafe { mem::zeroed() };
            let zero_hdr: libc::mmsghdr = unsafe { mem::zeroed() };
            let zero_iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
            Buffers {
                data: vec![0u8; BATCH * SLOT],
                names: vec![zero_name; BATCH],
                iovs: vec![zero_iov; BATCH],
                hdrs: vec![zero_hdr; BATCH],
                out_names: vec![zero_name; BATCH],
                out_iovs: vec![zero_iov; BATCH],
                out_hdrs: vec![zero_hdr; BATCH],
            }
        }

        /// Reads up to BATCH datagrams without blocking (0 when none wait).
        pub fn receive(&mut self, fd: i32) -> io::Result<usize> {
            let base = self.data.as_mut_ptr();
            for i in 0..BATCH {
                // SAFETY: i * SLOT + SLOT <= data.len().
                self.iovs[i] = libc::iovec { iov_base: unsafe { base.add(i * SLOT) }.cast(), iov_len: SLOT };
                let full = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                point(&mut self.hdrs[i], &mut self.names[i], full, &mut self.iovs[i]);
            }
            loop {
                // SAFETY: BATCH headers pointing at live iovecs, slots and address storage.
                let n = unsafe { libc::recvmmsg(fd, self.hdrs.as_mut_ptr(), BATCH as _, libc::MSG_DONTWAIT as _, std::ptr::null_mut()) };
                if n >= 0 {
                    return Ok(n as usize);
                }
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(0),
                    Some(libc::EINTR) => continue,
                    // An ICMP error queued from an earlier send (port unreachable...): the
                    // engine's timers deal with the silence; keep reading.
                    Some(libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::ECONNRESET) => continue,
                    _ => return Err(e),
                }
            }
        }

        pub fn datagram(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
            let len = (self.hdrs[i].msg_len as usize).min(SLOT);
            (&self.data[i * SLOT..i * SLOT + len], to_addr(&self.names[i]))
        }

        /// Sends the front of `q` (up to BATCH): (sent, dropped as refused, socket full).
        pub fn send(&mut self, fd: i32, q: &VecDeque<Transmit>) -> (usize, usize, bool) {
            let count = q.len().min(BATCH);
            for (k, t) in q.iter().take(count).enumerate() {
                let len = from_addr(&t.destination, &mut self.out_names[k]);
                self.out_iovs[k] = libc::iovec { iov_base: t.contents.as_ptr() as *mut libc::c_void, iov_len: t.contents.len() };
                point(&mut self.out_hdrs[k], &mut self.out_names[k], len, &mut self.out_iovs[k]);
            }
            loop {
                // SAFETY: `count` headers pointing at live iovecs, packets and addresses.
                let r = unsafe { libc::sendmmsg(fd, self.out_hdrs.as_mut_ptr(), count as _, libc::MSG_DONTWAIT as _) };
                if r > 0 {
                    return (r as usize, 0, false);
                }
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN | libc::ENOBUFS) => return (0, 0, true),
                    // This one destination or message is refused: drop it, keep going.
                    _ => return (0, 1, false),
                }
            }
        }
    }
}
