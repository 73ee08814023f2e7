"""Benchmark: identification latency and memory at 100 / 1,000 / 10,000 enrolled users.

SYNTHETIC POPULATION, for latency and memory only (accuracy on real people:
``benchmarks/identify_accuracy.py``). ``--real`` people of the Leap in-air data set enroll
through the product (``AuthService.enroll``, default settings: calibrated fusion); every
synthetic account is a copy of one of them (its model file and recordings, saved through
``EnrollmentStore.save_enrollment``) whose index vectors are that person's plus noise, so
that the index holds N distinct users. Queries are held-out real recordings of the real
people; each runs ``AuthService.identify`` end to end (index sync check, shortlist, loading and
scoring the shortlisted models, the login rules and the attempt record), lockout off, in one
warm process: the index stays loaded between identifications (``identify_index.loaded``);
what a fresh process pays once to read it is printed per size. The queries that named
someone (they also run that account's derived-replay check) are also timed apart from those
that named nobody.

The reference, measured in the same run: exhaustive identification (every user's verifier
scores the query, as before issue 24) at the smallest size. Prints p50 / p95 per size, the
index's files and the process's peak memory.

    nice .venv/bin/python benchmarks/bench_identify.py [--sizes 100,1000,10000] [--queries 40]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "leap_air_signatures"


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--real", type=int, default=8, help="real people enrolled (default 8)")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--baseline-queries", type=int, default=5)
    args = ap.parse_args()

    from authapp import identify_index
    from authapp.harness.data import load
    from authapp.identify_index import EMBEDDING_KEY, INDEX_DIR, UserIndex
    from authapp.services import AuthService
    from authapp.store import EnrollmentStore

    ds = load(DATA, "leapcsv")
    people = [p for p in ds.identities if len(ds.genuine(p)) >= 8][: args.real]
    tmp = tempfile.TemporaryDirectory(prefix="bench_identify_")
    store = EnrollmentStore(Path(tmp.name) / "store")
    store.set_setting("lockout", {"max_failures": 0, "window_s": 300.0, "lockout_s": 900.0})
    service = AuthService(store)  # the store's settings: lockout off
    t0 = time.perf_counter()
    for p in people:
        service.enroll(f"real-{p}", list(ds.genuine(p))[:5], update_index=False)
    print(f"enrolled {len(people)} real people in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    templates = []
    for p in people:
        info = store.get_user(f"real-{p}")
        blob = (store.path / "users" / info.dirname / info.model_file).read_bytes()
        templates.append((info, blob, store.load_recordings(info.key)))
    queries = [(p, t) for p in people for t in list(ds.genuine(p))[5:]]
    rng = np.random.default_rng(0)
    rng.shuffle(queries)
    queries = (queries * (1 + args.queries // max(len(queries), 1)))[: args.queries]

    named: list[bool] = []  # of the last ``timed`` call: which queries named someone

    def timed(n: int) -> list[float]:
        out = []
        named.clear()
        for _, q in queries[:n]:
            t = time.perf_counter()
            result = service.identify(q)
            out.append(time.perf_counter() - t)
            named.append(result.identified)
        return out

    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = []
    count = len(people)
    for size in sizes:
        t0 = time.perf_counter()
        while count < size:
            info, blob, recs = templates[count % len(templates)]
            meta = dict(info.metadata)
            vecs = np.asarray(meta[EMBEDDING_KEY]["vectors"], dtype=np.float64)
            vecs = vecs + rng.normal(0.0, 0.02, vecs.shape)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            meta[EMBEDDING_KEY] = {**meta[EMBEDDING_KEY], "vectors": vecs.tolist()}
            store.save_enrollment(f"synthetic-{count:05d}", recs, blob, info.verifier_kind,
                                  meta)
            count += 1
        fill_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        UserIndex(store).sync()
        sync_s = time.perf_counter() - t0
        if size == sizes[0]:  # the reference: every verifier scores the query
            keep = identify_index.EXHAUSTIVE_UP_TO
            identify_index.EXHAUSTIVE_UP_TO = 10**9
            base = timed(args.baseline_queries)
            identify_index.EXHAUSTIVE_UP_TO = keep
            rows.append((f"{size} exhaustive (reference)", base))
        timed(2)  # warm: numba functions loaded, caches filled
        lat = timed(args.queries)
        index_bytes = sum(f.stat().st_size for f in (store.path / INDEX_DIR).iterdir())
        t0 = time.perf_counter()  # what a fresh process pays once: reading the index
        UserIndex(store).sync()
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reopened = EnrollmentStore(store.path, create=False)
        n_users = reopened.count_users()
        reopened.close()
        open_s = time.perf_counter() - t0
        store_mb = sum(f.stat().st_size for f in store.path.rglob("*") if f.is_file()) / 2**20
        rows.append((f"{size} index", lat))
        # a query that names someone also runs that account's derived-replay check
        split = {"named": [t for t, k in zip(lat, named) if k],
                 "unnamed": [t for t, k in zip(lat, named) if not k]}
        print(f"N={size}: " + "; ".join(
            f"{len(v)} {kind} p50 {statistics.median(v) * 1000:.1f} ms max "
            f"{max(v) * 1000:.1f} ms" for kind, v in split.items() if v))
        print(f"N={size}: identify p50 {statistics.median(lat) * 1000:.1f} ms, p95 "
              f"{_p95(lat) * 1000:.1f} ms (reference p50 "
              f"{statistics.median(rows[0][1]) * 1000:.1f} ms); store {store_mb:.0f} MiB on disk (filled in {fill_s:.0f} s), "
              f"opens in {open_s * 1000:.0f} ms ({n_users} users); index {index_bytes / 2**20:.2f}"
              f" MiB, first sync {sync_s:.1f} s, loaded by a fresh process in "
              f"{load_s * 1000:.0f} ms; peak RSS so far {_rss_mb():.0f} MiB",
              flush=True)
    base = statistics.median(rows[0][1])
    print(f"{'users':<28} {'p50 ms':>8} {'p95 ms':>8} {'p50 vs reference':>17}")
    for name, lat in rows:
        med = statistics.median(lat)
        print(f"{name:<28} {med * 1000:>8.1f} {_p95(lat) * 1000:>8.1f} {med / base:>16.2f}x")
    last = rows[-1][1]
    print(f"goal p95 <= 100 ms at {sizes[-1]}: {_p95(last) * 1000:.1f} ms "
          f"({'met' if _p95(last) <= 0.1 else 'NOT met'}); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    store.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
