"""Retrieval: hybrid search, query planning for news, re-ranking and context selection."""
