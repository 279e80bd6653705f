"""Secondary zones: copies of a primary's zone kept fresh by the SOA timers and NOTIFY.

RFC 1034 §4.3.5 and RFC 1996. Each :class:`SecondaryZone` runs one task: transfer the zone
when it starts (retrying with a bounded backoff until the first copy arrives), then every
``refresh`` seconds ask a primary for its SOA serial and transfer (IXFR first) when the
serial is newer (RFC 1982 arithmetic); after a failed check, try again every ``retry``
seconds; when ``expire`` seconds pass without a successful check, stop serving the zone
(a stale copy is worse than none). A NOTIFY from a primary wakes the task at once.

The copy being served is replaced only by a complete, checked new copy
(``catalog.put`` swaps it atomically), so queries never see a half-transferred zone.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from .catalog import ZoneCatalog
from .constants import Opcode, Rcode, RRType
from .errors import DNSError
from .message import Message
from .name import Name
from .rdata import SOA
from .xfr_client import axfr, ixfr, query_soa, serial_compare
from .zone import Zone, origin_name

__all__ = ["Secondaries", "SecondaryZone"]

log = logging.getLogger(__name__)

_QR, _AA = 0x8000, 0x0400
# Bounds on the SOA timers a primary may ask for: no busy loop on a zero, no timer so long
# that asyncio's clock arithmetic misbehaves (RFC 1912 suggests refresh >= 20 minutes, but a
# primary's choice is honoured down to one second).
_MIN_TIMER = 1.0
_MAX_TIMER = float(2**31 - 1)


def _address(host: str) -> str:
    """``host`` normalised for comparison (IPv4-mapped IPv6 as IPv4)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class SecondaryZone:
    """One zone copied from ``primaries`` (tried in order) into ``catalog``.

    ``refresh``, ``retry`` and ``expire`` override the SOA's timers (seconds; None: use the
    SOA's). Before the first copy arrives a failed transfer is retried after
    ``first_retry`` seconds, doubling up to ``max_first_retry``. ``transfer_timeout`` bounds
    each transfer, ``soa_timeout`` each SOA check. A NOTIFY starts a check no sooner than
    ``notify_gap`` seconds after the previous one began (NOTIFY comes over UDP from any
    address that claims to be a primary: a flood of them must not become a flood of
    queries to the primary).
    """

    def __init__(self, catalog: ZoneCatalog, origin: Name | str,
                 primaries: Sequence[tuple[str, int]], *, use_ixfr: bool = True,
                 refresh: float | None = None, retry: float | None = None,
                 expire: float | None = None, first_retry: float = 5.0,
                 max_first_retry: float = 60.0, transfer_timeout: float = 30.0,
                 soa_timeout: float = 5.0, max_records: int = 1_000_000,
                 notify_gap: float = 1.0) -> None:
        if not primaries:
            raise ValueError("a secondary zone needs at least one primary")
        if first_retry <= 0 or max_first_retry < first_retry:
            raise ValueError("need 0 < first_retry <= max_first_retry")
        self.catalog = catalog
        self.origin = origin_name(origin)
        self.primaries = [(str(h), int(p)) for h, p in primaries]
        self.use_ixfr = use_ixfr
        self._overrides = (refresh, retry, expire)
        self.first_retry = first_retry
        self.max_first_retry = max_first_retry
        self.transfer_timeout = transfer_timeout
        self.soa_timeout = soa_timeout
        self.max_records = max_records
        self.notify_gap = notify_gap
        self.zone: Zone | None = None          # the newest complete copy we hold
        self.serving = False                   # whether it is in the catalog
        self.last_success: float | None = None  # loop time of the last good check
        self.last_error: Exception | None = None
        self.installs = 0                      # copies put in the catalog
        self.ready = asyncio.Event()           # set once a copy is being served
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._preferred: tuple[str, int] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- timers --------------------------------------------------------------------------

    def _timer(self, index: int, field: str, default: float) -> float:
        override = self._overrides[index]
        if override is not None:
            return override
        if self.zone is None:
            return default
        rdata = self.zone.soa.rdata
        assert isinstance(rdata, SOA)
        return min(_MAX_TIMER, max(_MIN_TIMER, float(getattr(rdata, field))))

    @property
    def refresh_interval(self) -> float:
        """Seconds between SOA checks after a good one."""
        return self._timer(0, "refresh", 3600.0)

    @property
    def retry_interval(self) -> float:
        """Seconds between SOA checks after a failed one."""
        return self._timer(1, "retry", 600.0)

    @property
    def expire_interval(self) -> float:
        """Seconds without a good check after which the copy stops being served."""
        return self._timer(2, "expire", 604800.0)

    # -- the work ------------------------------------------------------------------------

    def primary_addresses(self) -> set[str]:
        """The primaries' addresses, normalised (NOTIFY is accepted from these only)."""
        return {_address(h) for h, _ in self.primaries}

    async def refresh(self) -> bool:
        """Check the primaries' SOA now and transfer if theirs is newer (or we have none).

        Returns True when a primary answered and our served copy is now current, False when
        every primary failed (``last_error`` says why).
        """
        async with self._lock:
            order = list(self.primaries)
            if self._preferred in order:
                order.remove(self._preferred)
                order.insert(0, self._preferred)  # type: ignore[arg-type]
            self._preferred = None
            for primary in order:
                try:
                    await self._refresh_from(primary)
                except (DNSError, OSError) as exc:
                    self.last_error = exc
                    log.warning("secondary %s: refresh from %s#%d failed: %s",
                                self.origin, primary[0], primary[1], exc)
                    continue
                self.last_error = None
                self.last_success = asyncio.get_running_loop().time()
                return True
            return False

    async def _refresh_from(self, primary: tuple[str, int]) -> None:
        soa = await query_soa(primary, self.origin, timeout=self.soa_timeout)
        assert isinstance(soa.rdata, SOA)
        serial = soa.rdata.serial
        current = self.zone
        if current is not None and serial_compare(serial, current.serial) <= 0:
            if not self.serving:
                self._install(current)
            return
        if self.use_ixfr and current is not None:
            new = await ixfr(primary, current, timeout=self.transfer_timeout,
                             max_records=self.max_records)
        else:
            new = await axfr(primary, self.origin, timeout=self.transfer_timeout,
                             max_records=self.max_records)
        if current is not None and serial_compare(new.serial, current.serial) < 0:
            raise DNSError(f"{primary[0]}#{primary[1]} transferred serial {new.serial}, "
                           f"older than our {current.serial}")
        if new is not current or not self.serving:
            self._install(new)
        log.info("secondary %s: serial %d from %s#%d", self.origin, new.serial, *primary)

    def _install(self, zone: Zone) -> None:
        self.catalog.put(zone)
        self.zone = zone
        self.serving = True
        self.installs += 1
        self.ready.set()

    def _expire(self) -> None:
        log.warning("secondary %s: no good refresh for %.0f s, zone expired",
                    self.origin, self.expire_interval)
        self.serving = False
        self.ready.clear()
        if self.catalog.get(self.origin) is not None:
            self.catalog.remove(self.origin)

    def notify(self, primary: tuple[str, int] | None = None) -> None:
        """Refresh soon (a NOTIFY arrived), asking ``primary`` first if it is one of ours."""
        if primary is not None:
            for p in self.primaries:
                if _address(p[0]) == _address(primary[0]):
                    self._preferred = p
                    break
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.first_retry
        while True:
            self._wake.clear()
            checked_at = loop.time()
            ok = await self.refresh()
            if ok:
                delay = self.refresh_interval
                backoff = self.first_retry
            elif self.zone is None:
                delay = backoff
                backoff = min(backoff * 2, self.max_first_retry)
            else:
                delay = self.retry_interval
            wake_at = loop.time() + delay
            while True:
                until = wake_at
                expire_at = None
                if self.serving and self.last_success is not None:
                    expire_at = self.last_success + self.expire_interval
                    until = min(until, expire_at)
                try:
                    await asyncio.wait_for(self._wake.wait(), max(0.0, until - loop.time()))
                    gap = checked_at + self.notify_gap - loop.time()
                    if gap > 0:
                        await asyncio.sleep(gap)
                    break  # NOTIFY: refresh now
                except TimeoutError:
                    pass
                if expire_at is not None and loop.time() >= expire_at and self.serving:
                    self._expire()
                    continue
                if loop.time() >= wake_at:
                    break

    async def start(self) -> None:
        """Start the refresh task (the first transfer happens in it; see ``ready``)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"secondary {self.origin}")

    async def stop(self) -> None:
        """Stop refreshing and stop serving the copy."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.serving:
            self.serving = False
            self.ready.clear()
            if self.catalog.get(self.origin) is not None:
                self.catalog.remove(self.origin)

    async def wait_ready(self, timeout: float) -> None:
        """Wait until a copy is served (TimeoutError after ``timeout`` seconds)."""
        await asyncio.wait_for(self.ready.wait(), timeout)


class Secondaries:
    """The secondary zones of one server; :meth:`handle_notify` is the server's
    ``notify_handler``. ``options`` are defaults for each :class:`SecondaryZone`."""

    def __init__(self, catalog: ZoneCatalog, **options: Any) -> None:
        self.catalog = catalog
        self.options = options
        self._zones: dict[Name, SecondaryZone] = {}
        self._started = False
        self._starting: set[asyncio.Task[None]] = set()

    def add(self, origin: Name | str, primaries: Sequence[tuple[str, int]],
            **options: Any) -> SecondaryZone:
        """Add a secondary zone (started at once if these secondaries are running)."""
        name = origin_name(origin)
        if name in self._zones:
            raise ValueError(f"already a secondary for {name}")
        zone = SecondaryZone(self.catalog, name, primaries, **{**self.options, **options})
        self._zones[name] = zone
        if self._started:
            task = asyncio.get_running_loop().create_task(zone.start())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
        return zone

    def get(self, origin: Name | str) -> SecondaryZone | None:
        """The secondary zone of ``origin``, if any."""
        return self._zones.get(origin_name(origin))

    def __iter__(self) -> Iterator[SecondaryZone]:
        return iter(list(self._zones.values()))

    def __len__(self) -> int:
        return len(self._zones)

    async def remove(self, origin: Name | str) -> None:
        """Stop being a secondary for ``origin`` (KeyError if we are not)."""
        zone = self._zones.pop(origin_name(origin))
        await zone.stop()

    async def start(self) -> None:
        """Start every zone's refresh task."""
        self._started = True
        for zone in self:
            await zone.start()

    async def stop(self) -> None:
        """Stop every zone."""
        self._started = False
        for zone in self:
            await zone.stop()

    async def wait_ready(self, timeout: float) -> None:
        """Wait until every zone is served (TimeoutError after ``timeout`` seconds)."""
        await asyncio.wait_for(asyncio.gather(*(z.ready.wait() for z in self)), timeout)

    async def handle_notify(self, message: Message, peer: tuple[str, int]) -> Message | None:
        """Answer a NOTIFY (RFC 1996): NOERROR and a refresh soon for a zone we hold from a
        primary at ``peer``'s address; NOTAUTH for a zone we are no secondary for; REFUSED
        from any other address; FORMERR without exactly one SOA question. Responses are
        dropped (None)."""
        if message.qr:
            return None

        def reply(rcode: int) -> Message:
            return Message(id=message.id, flags=_QR | _AA | (Opcode.NOTIFY << 11),
                           rcode=rcode, questions=message.questions[:1])

        if message.opcode != Opcode.NOTIFY:
            return Message(id=message.id, flags=_QR | (message.opcode << 11),
                           rcode=Rcode.NOTIMP, questions=message.questions[:1])
        if len(message.questions) != 1 or message.questions[0].rtype != RRType.SOA:
            return reply(Rcode.FORMERR)
        zone = self._zones.get(message.questions[0].name)
        if zone is None:
            log.info("NOTIFY for %s from %s: not a secondary zone here",
                     message.questions[0].name, peer[0])
            return reply(Rcode.NOTAUTH)
        if _address(peer[0]) not in zone.primary_addresses():
            log.warning("NOTIFY for %s from %s: not one of its primaries", zone.origin, peer[0])
            return reply(Rcode.REFUSED)
        zone.notify(peer)
        return reply(Rcode.NOERROR)

