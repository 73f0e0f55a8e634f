"""fincortex.retrieval: parsing-independent search over stored chunks (dense, BM25, fusion, rerank)."""
