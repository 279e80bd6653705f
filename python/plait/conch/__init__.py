"""plait.conch: SSH (``plait.conch.ssh``), and later telnet and terminal widgets."""
