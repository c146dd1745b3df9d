"""What bookmaker keeps between runs, store and lookup only: the content-addressed build cache
(build), the page map of print folios (pagemap), and keys, the one place that says what makes
each cache stale. Imports core only."""
