"""One module per proof-of-work algorithm (DESIGN.md section 2).

Each turns a node template into jobs and a miner's submission into a
verified result (share_ok, block_ok, hash_hex, work).
"""
