"""plait.conch.ssh: SSHv2 server and client.

The layers, bottom up: ``packet`` (the binary packet protocol, native), ``transport``
(version exchange, key exchange, rekeying), ``userauth``, ``connection`` (channels), ``sftp``;
each a sans-IO state machine driven by the asyncio adapter.
"""
