"""Documents a spec cites: reading, chunking, indexing and showing them."""
