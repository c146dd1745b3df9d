"""Pages from the Book: the Jinja2 layouts rendered for each target (layout: EPUB pages, the print
document described by one PrintDocument value) and the print font chain's coverage of the text
(glyphs). Imports transform and below."""
