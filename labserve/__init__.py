"""labserve: serve trained life-science models to people and programs."""

__version__ = "0.1.0"
