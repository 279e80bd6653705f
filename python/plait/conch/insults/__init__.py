"""Insults: drawing text interfaces on remote terminals, and understanding what they draw.

``keys`` and ``terminal`` define the vocabulary; ``_vt102`` (Cython) holds the parsers and the
screen buffer; ``protocol.ClientProtocol`` feeds a terminal from a byte stream.
"""
