"""Previews while the author writes: one chapter (chapter), the live server (serve, with its
builder and printer threads, hub, web and ui), the book kept between saves (workspace) and the
page map filled in the background (fill). Uses every stage below it."""
