"""Reading the book folder: book.toml -> BookConfig (config), chapter files -> Chapters with front
matter and line numbers (manuscript), and the starter book of `bookmaker new` (scaffold).
Imports core only."""
