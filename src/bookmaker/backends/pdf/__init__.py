"""The print PDF (WeasyPrint, pypdf): laying out one document (backend), the one pagination loop
(paginate) over one document or parts (parts, workers), the merge (merge), and every touch of the
libraries' internals, version-checked (wp_internals, pypdf_internals, with the patches wp_text,
wp_svg, png_passthrough)."""
