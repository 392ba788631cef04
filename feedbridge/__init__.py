"""feedbridge: turns websites without usable feeds into validated Atom and RSS feeds.

The pipeline, one module per stage: fetch → listing → extract → normalize → store → publish;
``refresh`` wires them for one source, ``cli`` and ``server`` are the shells.
"""

__version__ = "0.1.0"
