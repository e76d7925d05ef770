"""gxcpool-miner: the reference CPU miner for every algorithm of the pool
(sha256d over Stratum V1, ethash over EthereumStratum/1.0.0 or eth-proxy,
gxhash over the gxhash dialect), and the devnet demo miner built on it."""
