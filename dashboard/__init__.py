"""A live dashboard for Voucherify async actions."""

__version__ = "0.1.0"
