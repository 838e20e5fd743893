"""nsgen: compile a TOML network-namespace lab into one idempotent POSIX shell script."""

__version__ = "0.1.0"
