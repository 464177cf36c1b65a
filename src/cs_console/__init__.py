"""cs-console: a keyboard-driven terminal console for e-commerce customer service."""

__version__ = "0.1.0"
