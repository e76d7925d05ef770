"""Running the same work in several threads at once (thread-safety tests of native code)."""
from concurrent.futures import ThreadPoolExecutor


def run_in_threads(work, count=4):
    """[work(0), ..., work(count - 1)], each in its own thread, all started together;
    an exception in any of them is raised here."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, k) for k in range(count)]
        return [f.result() for f in futures]
