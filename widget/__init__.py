"""widget.js: the one-line checkout button merchants put on their pages (source in src/)."""
