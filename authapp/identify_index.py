"""Identification by index: a shortlist of enrolled users for ``AuthService.identify``.

Scoring every enrolled user's verifier costs tens of ms a user (about six minutes at
10,000). Instead each enrollment recording is represented by one vector (``models.embedding``:
a writer-independent embedding), kept in an approximate nearest-neighbour index (hnswlib's
HNSW graph), and a query is scored only by the verifiers of the ``SHORTLIST`` users whose
nearest recording is nearest to it (measured: better than one mean vector per user). The decision itself is not taken here:
``AuthService.identify`` applies the same open-set rule to the shortlist as to every user.

The index lives inside the store (``index/``) and is derived data: ``sync`` brings it up to
date with the store's enrollments (users added, re-enrolled or deleted since, found by one
light query: ``EnrollmentStore.user_versions``), which ``AuthService`` calls after every
enrollment and deletion and before every identification (another process may have changed
the store). Its files are written atomically; a damaged, missing or foreign index is rebuilt
from the vectors or from the enrollment recordings, never trusted: the worst a tampered
index can do is leave the right user off the shortlist (a missed identification), as the
verifiers still decide.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from capture.container import pack_npz, unpack_npz
from capture.trajectory import Trajectory
from core.files import atomic_write

log = logging.getLogger(__name__)

INDEX_DIR = "index"
META_FILE = "users.npz"
GRAPH_FILE = "hnsw.bin"
FORMAT = "airauth-user-index"
VERSION = 1
SHORTLIST = 8
"""Users whose verifiers score a query. Measured (README, "Scale"): on the 25 enrolled Leap
people the writer of 97 % of the queries is among the 8; top-1 and outsider rejection stay
within the bootstrap interval of exhaustive search."""
EXHAUSTIVE_UP_TO = 2 * SHORTLIST
"""Up to this many users every verifier scores the query (as before: no index needed)."""
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
EMBEDDING_KEY = "embedding"
"""Where an enrollment's metadata keeps its recordings' vectors ({"version", "vectors"})."""


class UserIndexError(RuntimeError):
    """An index file that cannot be used (it is rebuilt)."""


def _embedding() -> Any:
    from models.embedding import RecordingEmbedding

    return RecordingEmbedding()


def embedding_version() -> str:
    """Identifies the embedding's version and parameters: vectors of another are recomputed."""
    from models.embedding import EMBEDDING_VERSION

    params = sorted(_embedding().get_params(deep=False).items())
    return f"{EMBEDDING_VERSION}:{params}"


def enrollment_vector(recordings: list[Trajectory]) -> dict[str, Any]:
    """What ``AuthService.enroll`` stores in the model's metadata: the vectors of the user's
    enrollment recordings."""
    vecs = _embedding().transform(recordings)
    return {"version": embedding_version(),
            "vectors": [[float(v) for v in row] for row in vecs]}


def query_vector(recording: Trajectory) -> np.ndarray:
    return _embedding().transform([recording])[0]


class UserIndex:
    """The shortlist index of one ``EnrollmentStore`` (``store.path / "index"``)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.folder = Path(store.path) / INDEX_DIR
        self.keys: list[str] = []       # label (one recording) -> user key ("" removed)
        self.updated: list[float] = []  # label -> enrollment time it was made from
        self.dims: list[int] = []       # label -> the user's data dimensionality
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.graph: Any = None
        self._version = embedding_version()
        self._synced: dict[str, float] | None = None
        """The store's ``user_versions`` this index was last brought up to date with, every
        user included: the same answer again means nothing to do (one dict comparison
        instead of walking every label, about 30 ms at 10,000 users)."""

    # -- reading and writing ------------------------------------------------------------------
    def _load(self) -> None:
        if not (self.folder / META_FILE).is_file():
            return  # no index yet
        try:
            header, arrays = unpack_npz(self.folder / META_FILE, "user index", UserIndexError)
            if header.get("format") != FORMAT or header.get("version") != VERSION or \
                    header.get("embedding") != self._version:
                raise UserIndexError("index of another version")
            keys, updated, dims = header["keys"], header["updated"], header["dims"]
            vectors = np.asarray(arrays["vectors"], dtype=np.float32)
            if not (len(keys) == len(updated) == len(dims) == vectors.shape[0]):
                raise UserIndexError("inconsistent index")
            self.keys, self.updated = [str(k) for k in keys], [float(t) for t in updated]
            self.dims, self.vectors = [int(d) for d in dims], vectors
        except FileNotFoundError:
            return
        except (UserIndexError, KeyError, TypeError, ValueError) as exc:
            log.warning("identification index in %s is unusable (%s): rebuilt", self.folder,
                        exc)
            self.keys, self.updated, self.dims = [], [], []
            self.vectors = np.zeros((0, 0), dtype=np.float32)
            return
        graph_path = self.folder / GRAPH_FILE
        try:
            data = graph_path.read_bytes()
        except FileNotFoundError:
            data = b""
        if data and hashlib.sha256(data).hexdigest() == header.get("graph_sha256"):
            self.graph = self._read_graph(graph_path)
        if self.graph is None and self.vectors.shape[0]:
            self._rebuild_graph()

    def _read_graph(self, path: Path) -> Any:
        import hnswlib

        graph = hnswlib.Index(space="l2", dim=self.vectors.shape[1])
        try:
            graph.load_index(str(path), max_elements=max(len(self.keys), 1))
        except RuntimeError:
            return None
        if graph.get_current_count() != len(self.keys):
            return None
        graph.set_ef(HNSW_EF_SEARCH)
        return graph

    def _rebuild_graph(self) -> None:
        import hnswlib

        n, d = self.vectors.shape
        graph = hnswlib.Index(space="l2", dim=d)
        graph.init_index(max_elements=max(n, 16), ef_construction=HNSW_EF_CONSTRUCTION,
                         M=HNSW_M, random_seed=0)
        graph.set_num_threads(1)
        live = [i for i, k in enumerate(self.keys) if k]
        if live:
            graph.add_items(self.vectors[live], np.asarray(live, dtype=np.int64))
        # removed labels keep their rows (labels are positions) but are not in the graph:
        # add them deleted so that the graph's count matches the label table
        dead = [i for i, k in enumerate(self.keys) if not k]
        if dead:
            graph.add_items(self.vectors[dead], np.asarray(dead, dtype=np.int64))
            for i in dead:
                graph.mark_deleted(i)
        graph.set_ef(HNSW_EF_SEARCH)
        self.graph = graph

    def _save(self) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".graph-", dir=self.folder)
        os.close(fd)
        try:
            self.graph.save_index(tmp)
            data = Path(tmp).read_bytes()
        finally:
            Path(tmp).unlink(missing_ok=True)
        atomic_write(self.folder / GRAPH_FILE, data, mode=0o600)
        header = {"format": FORMAT, "version": VERSION, "embedding": self._version,
                  "keys": self.keys, "updated": self.updated, "dims": self.dims,
                  "graph_sha256": hashlib.sha256(data).hexdigest()}
        atomic_write(self.folder / META_FILE, pack_npz(header, {"vectors": self.vectors}),
                     mode=0o600)

    # -- keeping it up to date ----------------------------------------------------------------
    def _vectors_of(self, key: str) -> tuple[np.ndarray, int]:
        """(vectors of the user's enrollment recordings, dimensionality of their data)."""
        info = self.store.get_user(key)
        stored = info.metadata.get(EMBEDDING_KEY)
        dims = int(info.metadata.get("dims") or 0)
        if isinstance(stored, dict) and stored.get("version") == self._version:
            vecs = np.asarray(stored.get("vectors"), dtype=np.float32)
            if vecs.ndim == 2 and vecs.size and np.all(np.isfinite(vecs)):
                return vecs, dims
        recs = self.store.load_recordings(key)  # enrolled before this version: compute them
        return _embedding().transform(recs), dims or (recs[0].dims if recs else 0)

    def sync(self) -> UserIndex:
        """Bring the index up to date with the store's enrollments (and save it if changed)."""
        if self.graph is None and not self.keys:
            self._load()
        current = self.store.user_versions()
        if current == self._synced:
            return self
        labels_of: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            if k:
                labels_of.setdefault(k, []).append(i)
        stale = [k for k, ls in labels_of.items() if current.get(k) != self.updated[ls[0]]]
        new = [k for k in current if k not in labels_of or k in stale]
        if not stale and not new:
            self._synced = current
            return self
        for k in stale:
            for i in labels_of.pop(k):
                self.keys[i] = ""
                if self.graph is not None:
                    self.graph.mark_deleted(i)
        added = []
        left_out = False
        for k in sorted(new):
            try:
                vecs, dims = self._vectors_of(k)
            except Exception as exc:  # noqa: BLE001 - a user deleted meanwhile, a bad file
                log.warning("identification index: user %r left out (%s)", k, exc)
                left_out = True  # (tried again at the next sync)
                continue
            added += [(k, v, dims) for v in vecs]
        if added:
            d = added[0][1].size
            if self.vectors.size == 0:
                self.vectors = np.zeros((0, d), dtype=np.float32)
            rows = np.stack([v for _, v, _ in added]).astype(np.float32)
            first = len(self.keys)
            self.vectors = np.vstack([self.vectors, rows])
            self.keys += [k for k, _, _ in added]
            self.updated += [current[k] for k, _, _ in added]
            self.dims += [dims for _, _, dims in added]
            if self.graph is not None:
                self.graph.resize_index(max(len(self.keys), self.graph.get_max_elements()))
                self.graph.add_items(rows, np.arange(first, len(self.keys), dtype=np.int64))
        if sum(1 for k in self.keys if not k) > max(16, len(self.keys) // 2):
            self._compact()
        if self.graph is None:
            self._rebuild_graph()
        self._save()
        self._synced = None if left_out else current
        return self

    def _compact(self) -> None:
        """Drop removed labels (they accumulate with re-enrollments and deletions)."""
        live = [i for i, k in enumerate(self.keys) if k]
        self.keys = [self.keys[i] for i in live]
        self.updated = [self.updated[i] for i in live]
        self.dims = [self.dims[i] for i in live]
        self.vectors = self.vectors[live]
        self.graph = None

    # -- the query ----------------------------------------------------------------------------
    def __len__(self) -> int:
        """Users in the index."""
        return len({k for k in self.keys if k})

    def shortlist(self, recording: Trajectory, k: int | None = None) -> list[str]:
        """Keys of the (up to) ``k`` (default ``SHORTLIST``) users nearest to ``recording``
        with its dimensionality, nearest first."""
        k = SHORTLIST if k is None else int(k)
        live = sum(1 for key in self.keys if key)
        if live == 0 or self.graph is None:
            return []
        vec = query_vector(recording)[None, :]
        want = min(live, 8 * k)
        while True:  # nearest recordings until k distinct users (each has several)
            labels, _ = self.graph.knn_query(vec, k=want)
            out: list[str] = []
            for i in labels[0]:
                key = self.keys[int(i)]
                if key and key not in out and self.dims[int(i)] in (0, recording.dims):
                    out.append(key)
                    if len(out) == k:
                        return out
            if want >= live:
                return out
            want = min(live, 4 * want)


_LOADED: dict[str, tuple[tuple, UserIndex]] = {}
"""Indexes this process has loaded, by store folder, with the signature of their files."""
_LOADED_LOCK = threading.Lock()
KEEP_LOADED = 4
"""Stores whose index a process keeps (the most recently used)."""


def _signature(folder: Path) -> tuple:
    """What the index's files are now (inode, size, modification time of each): a process
    that keeps an index loaded reloads it when another process rewrote them."""
    out: list[Any] = []
    for name in (META_FILE, GRAPH_FILE):
        try:
            st = os.stat(folder / name)
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def loaded(store: Any) -> UserIndex:
    """``store``'s index, up to date (``sync``), loaded from its files once per process while
    they are unchanged: reading and checking them grows with the store (about a quarter of
    a second of each identification at 10,000 users), so a process that identifies many
    times (the GUI, a door's service) keeps it. Changes by other processes still show: their
    enrollments through ``sync``'s query of the store, their index files through the
    signature. Callers hold ``lock()`` while they use the result."""
    folder = str(Path(store.path).resolve())
    cached = _LOADED.pop(folder, None)
    if cached is not None and cached[0] == _signature(cached[1].folder):
        index = cached[1]
        index.store = store
    else:
        index = UserIndex(store)
    index.sync()  # (on an error the index is not kept: the next call loads it again)
    _LOADED[folder] = (_signature(index.folder), index)
    while len(_LOADED) > KEEP_LOADED:
        _LOADED.pop(next(iter(_LOADED)))
    return index


def lock() -> threading.Lock:
    """The lock under which a process uses its loaded indexes (GUI threads)."""
    return _LOADED_LOCK
