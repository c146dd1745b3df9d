"""From chapters to a rendered Book: Markdown -> XHTML blocks (markdown), raw HTML made safe
(sanitize), images probed or drawn (images, decode, svg), formulas (formula), code (code), ids and
links checked book-wide (links, crossref), notes moved where book.toml puts them (notes);
book.load_book chains them with the Book -> Book passes. Imports source, cache and core."""
