"""``make bench``: throughput, latency and memory of the shop through its gateway (see bench/run.py)."""
