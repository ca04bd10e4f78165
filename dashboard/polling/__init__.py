"""The polling layer: every read of Voucherify, paid from the shared budget, and what its
failures mean for a person (problems.py)."""
