"""What an algorithm module's make() is given to build its runtime object."""
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AlgorithmContext:
    settings: Any            # its [stratum.<name>] StratumSettings
    state_dir: str           # DAG files and other per-algorithm state live here
    reactor: Any
    cores: int               # CPUs this process may use (os.cpu_count())
