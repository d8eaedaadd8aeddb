"""CPU instructions per request, counted by Valgrind: a measure that a noisy VM does not move.

    .venv/bin/python bench/instructions.py --keep NAME [--requests 60] [--compare ROOT] PATH...

`bench/request_floor.py` times requests with `time.process_time`; on the shared 2-core VMs of
this project the same code measured 6.3 to 10.9 ms per queue page within minutes (the host's
load, not the code). This script counts instead: each PATH is requested in-process (Flask's test
client, logged in as the benchmark's technician, 20 warm-up requests) under `valgrind
--tool=callgrind`, once with no further requests and once with `--requests` more, and the
difference of the two totals divided by `--requests` is the instructions one request costs.
The count includes everything the process does for the request (Flask, SQLAlchemy, SQLite's own
work, Jinja, the garbage collector's young generations); PYTHONHASHSEED is fixed, and what the
start-up and warm-up left is frozen out of the collector (`gc.freeze`) so that a full collection
of the whole process does not fall inside one run and not the other.

The PATH `reference` is the bare reference page of bench/queue_bench.py (bench/reference_app.py,
25 rows from the same database), counted the same way: each page's `x ref` is the reference's
count divided by the page's, the benchmark's ratio without the host's noise (and without
gunicorn's and the client's share, which the wire adds to both).

`--compare ROOT` counts the same paths with the code of another checkout (e.g. `git worktree add
/tmp/old HEAD~1`), on the same database, and prints the change. The database is the kept one of
bench/dataset.py (`--keep NAME`, seeded on first use like the other scripts; SQLite only: on
PostgreSQL the server's work would not be counted). Needs Debian's valgrind (apt-get install -y
valgrind); each run takes a minute or two (Valgrind runs Python ~50x slower), two at a time.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402  (the block above must run first)
import gc  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

WARM_UP = 20
REFERENCE = "reference"  # a PATH naming bench/reference_app.py's page
COLLECTED = re.compile(r"Collected : (\d+)")


def child(root, url, path, requests):
    """Inside Valgrind: log in, warm up, then `requests` requests of `path` with the code at `root`."""
    sys.path.insert(0, root)
    os.chdir(root)
    from bench.request_floor import SECRET
    from helpdesk import create_app

    if path == REFERENCE:  # the queue benchmark's yardstick, its own bare Flask app
        os.environ["DATABASE_URL"] = url
        from bench.reference_app import app as reference_app

        client, path = reference_app.test_client(), "/"
    else:
        client = _logged_in(create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET}))
    for _ in range(WARM_UP):
        client.get(path)
    # What start-up and the warm-up left is moved out of the collector's reach: a full collection
    # falling inside one run's requests and not the other's would otherwise add its cost (it
    # scans every object of the process) to a few dozen requests.
    gc.collect()
    gc.freeze()
    for _ in range(requests):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")


def _logged_in(app):
    """request_floor.logged_in, tried again a few times: two runs side by side sign in at once,
    and under Valgrind one sign-in holds SQLite's write lock (its throttle count) for seconds."""
    from bench.request_floor import logged_in

    for attempt in range(6):
        try:
            return logged_in(app)
        except SystemExit:
            if attempt == 5:
                raise
            time.sleep(5)


def counted(root, url, path, requests):
    """Instructions of a whole child process (valgrind's total)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        root,
        url,
        path,
        str(requests),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"valgrind run failed for {path} ({root}):\n{done.stderr[-2000:]}")
    return int(found[-1])


def per_request(pool, root, url, path, requests):
    base = pool.submit(counted, root, url, path, 0)
    more = pool.submit(counted, root, url, path, requests)
    return (more.result() - base.result()) / requests


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        root, url, path, requests = sys.argv[2:6]
        child(root, url, path, int(requests))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--keep", required=True, metavar="NAME", help="the kept SQLite bench database")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--compare", metavar="ROOT", help="another checkout to count the same paths with")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/instructions.py needs Debian's valgrind: apt-get install -y valgrind")

    from bench.dataset import seeded_database

    with seeded_database("sqlite", args.tickets, 3, keep=args.keep) as (url, _targets):
        roots = [ROOT] + ([os.path.abspath(args.compare)] if args.compare else [])
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = {
                (root, path): per_request(pool, root, url, path, args.requests)
                for root in roots
                for path in args.paths
            }
    reference = results.get((ROOT, REFERENCE))
    header = f"{'path':<36}{'this checkout':>16}" + (f"{'x ref':>8}" if reference else "")
    if args.compare:
        header += f"{'compared':>16}{'change':>9}"
    print(f"\ninstructions per request (millions), {args.requests} requests after {WARM_UP}")
    print(header)
    for path in args.paths:
        line = f"{path:<36}{results[ROOT, path] / 1e6:>16.2f}"
        if reference:
            line += f"{reference / results[ROOT, path]:>8.2f}"
        if args.compare:
            other = results[roots[1], path]
            line += f"{other / 1e6:>16.2f}{(results[ROOT, path] / other - 1) * 100:>+8.1f}%"
        print(line)


if __name__ == "__main__":
    main()
