"""Insults: drawing text interfaces on remote terminals, and understanding what they draw.

``keys`` and ``terminal`` define the vocabulary; the Cython core is ``_keys`` (KeyParser),
``_vt102`` (TerminalParser, and it re-exports the rest), ``_screen`` (TerminalBuffer) on
``_grid`` (cells and scrollback), and ``_width`` (character widths);
``protocol.ClientProtocol`` feeds a terminal from a byte stream.
"""
