"""Vertex: peer-to-peer addressing; JUICE/AMP first."""
