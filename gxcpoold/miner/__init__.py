"""gxcpool-miner: the reference Stratum V1 CPU miner for sha256d."""
