"""bookmaker: a book builder."""
