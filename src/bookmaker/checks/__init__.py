"""Checks of what was built, reading the outputs only: the print profile's preflight rules on the
PDF (preflight) and the external validators EPUBCheck and Ace (validate). Imports core only."""
