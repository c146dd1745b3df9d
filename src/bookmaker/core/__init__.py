"""The ground every stage stands on: the book as frozen data (model), diagnostics and errors,
print profiles as data, the build context, paths and the one atomic writer, the one hash, and the
files bookmaker ships (layouts). Imports nothing else of bookmaker."""
