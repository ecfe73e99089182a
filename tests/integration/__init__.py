# SPDX-License-Identifier: MIT
"""Integration tests: real firewalld in a network namespace on a private bus (sandbox.py)."""
