"""Vector store ingestion: a file's bytes -> text -> chunks -> embeddings."""
