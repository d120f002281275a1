"""vidlabel: video annotation that ranks frames by uncertainty and spreads every correction."""

__version__ = "0.1.0"
