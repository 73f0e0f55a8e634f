"""One connector per public dataset, one file each; fincortex/datasets/registry.py lists them (one line each)."""
