# SPDX-License-Identifier: MIT
"""End-to-end tests: real sockets through the rules install persists (firewalld sandbox + remote)."""
