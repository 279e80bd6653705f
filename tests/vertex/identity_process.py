"""Run a Q2Q identity server in this process until SIGTERM/SIGINT (for CLI and NAT tests).

    python identity_process.py DATA_DIR HOST PORT [DOMAIN]

Prints ``LISTENING HOST TCP_PORT UDP_PORT`` once serving (PORT 0 picks a free pair).
"""
from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.vertex.q2q.identity import IdentityServer
from plait.vertex.q2q.service import serve_identity


async def main(data: Path, host: str, port: int, domain: str) -> None:
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data / "site.axiom")
    identity = IdentityServer.for_directory(data / "q2q" / domain, domain,
                                            install_login_system(store))
    listening = await serve_identity(identity, host, port)
    tcp, udp = listening.tcp_address, listening.udp_address
    print(f"LISTENING {tcp[0]} {tcp[1]} {udp[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await listening.close()
    store.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(Path(args[0]), args[1], int(args[2]),
                     args[3] if len(args) > 3 else "example.test"))
