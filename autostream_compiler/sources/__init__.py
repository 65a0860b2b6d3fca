"""Documents as sources of a video: extraction, chunking, the index and retrieval."""
