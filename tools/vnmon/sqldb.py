"""The two database backends of the monitor store behind one small interface.

SQL is written once with `?` placeholders and portable types; `Db` adapts it to SQLite
(sqlite3, one file, WAL) or PostgreSQL (psycopg 3, given a DSN `postgresql://...`).
One connection per thread (sqlite3 connections are not shared across threads).
"""
import sqlite3
import threading

# {serial}: an auto-increment id column, {real}: a double
DDL = """
CREATE TABLE IF NOT EXISTS nodes (
  node TEXT PRIMARY KEY, site TEXT, state TEXT, first_seen {real}, last_seen {real},
  status_rx {real}, fw TEXT, board TEXT, seq0 BIGINT, interval_s {real}, queued BIGINT,
  errors TEXT, last_seq BIGINT, readings BIGINT DEFAULT 0, dups BIGINT DEFAULT 0,
  invalid BIGINT DEFAULT 0, lost BIGINT DEFAULT 0, unused BIGINT DEFAULT 0, last_reading TEXT);
CREATE TABLE IF NOT EXISTS readings (
  node TEXT NOT NULL, seq BIGINT NOT NULL, ts BIGINT, rx {real}, unsync SMALLINT, replayed SMALLINT,
  temp_c {real}, {axes}, payload TEXT, PRIMARY KEY (node, seq));
CREATE INDEX IF NOT EXISTS readings_rx ON readings (rx);
CREATE TABLE IF NOT EXISTS alarms (
  id {serial}, node TEXT NOT NULL, seq BIGINT, ts BIGINT, rx {real}, metric TEXT, axis TEXT,
  state TEXT, prev TEXT, value {real}, lim {real}, replayed SMALLINT,
  UNIQUE (node, seq, metric, axis, state));
CREATE INDEX IF NOT EXISTS alarms_node ON alarms (node, rx);
CREATE TABLE IF NOT EXISTS statuses (
  id {serial}, node TEXT NOT NULL, rx {real}, state TEXT, payload TEXT);
CREATE INDEX IF NOT EXISTS statuses_node ON statuses (node, rx);
CREATE TABLE IF NOT EXISTS events (
  id {serial}, node TEXT NOT NULL, ts BIGINT, rx {real}, event TEXT, payload TEXT);
CREATE INDEX IF NOT EXISTS events_node ON events (node, rx);
CREATE TABLE IF NOT EXISTS captures (
  id {serial}, node TEXT NOT NULL, req_id TEXT, kind TEXT, seq BIGINT, rx {real},
  complete SMALLINT, meta TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS captures_node ON captures (node, kind, rx);
CREATE TABLE IF NOT EXISTS gaps (
  id {serial}, node TEXT NOT NULL, first_seq BIGINT, last_seq BIGINT, rx {real}, reason TEXT);
CREATE TABLE IF NOT EXISTS invalid (
  id {serial}, node TEXT, topic TEXT, rx {real}, reason TEXT, payload TEXT);
CREATE INDEX IF NOT EXISTS invalid_node ON invalid (node, rx);
CREATE TABLE IF NOT EXISTS health (
  collector TEXT PRIMARY KEY, rx {real}, info TEXT);
"""

AXES = ("x", "y", "z")
# per-axis reading columns (name, type): what the trends and the overview need; the whole
# message is kept in readings.payload
AXIS_COLS = (("rms", "{real}"), ("vel", "{real}"), ("iso", "TEXT"), ("pk", "{real}"), ("cf", "{real}"),
             ("ku", "{real}"), ("f0", "{real}"), ("hf", "{real}"), ("env_dom", "TEXT"), ("env_a", "{real}"),
             ("env_r", "{real}"))
READING_COLS = ["node", "seq", "ts", "rx", "unsync", "replayed", "temp_c"] + \
    ["%s_%s" % (a, c) for a in AXES for c, _ in AXIS_COLS] + ["payload"]


def is_postgres(url):
    return isinstance(url, str) and url.startswith(("postgresql://", "postgres://", "host=", "dbname="))


class DbError(Exception):
    """The database failed (locked, down, disk full): the caller keeps the data and retries."""


class DataError(DbError):
    """The database refused the data itself (a number out of range, a NUL in a text, ...):
    retrying the same data would fail again."""


class Db:
    def __init__(self, url, timeout=5.0):
        self.url = url
        self.pg = is_postgres(url)
        self.timeout = timeout
        self._local = threading.local()
        self._all = []
        self._lock = threading.Lock()
        if self.pg:
            import psycopg
            self._errors = (psycopg.Error,)
            self._data_errors = (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError)
        else:
            self._errors = (sqlite3.Error,)
            self._data_errors = (sqlite3.DataError, sqlite3.IntegrityError, sqlite3.ProgrammingError)

    # ---- connections --------------------------------------------------------------------
    def conn(self):
        c = getattr(self._local, "c", None)
        if c is None:
            try:
                c = self._connect()
            except self._errors as e:
                raise DbError("%s: %s" % (type(e).__name__, e)) from e
            self._local.c = c
            with self._lock:
                self._all.append(c)
        return c

    def _connect(self):
        if self.pg:
            import psycopg
            return psycopg.connect(self.url, connect_timeout=max(1, int(self.timeout)), autocommit=False)
        # autocommit mode: run() opens its own transactions (BEGIN IMMEDIATE takes the write
        # lock up front, so a read-then-write transaction never fails half-way on a busy file)
        c = sqlite3.connect(self.url, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        if self.url != ":memory:":
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
        return c

    def drop_conn(self):
        """Forget this thread's connection (after an error: the next call reconnects)."""
        c = getattr(self._local, "c", None)
        self._local.c = None
        if c is not None:
            with self._lock:
                if c in self._all:
                    self._all.remove(c)
            try:
                c.close()
            except Exception:
                pass

    def close(self):
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            try:
                c.close()
            except Exception:
                pass
        self._local = threading.local()

    # ---- statements ---------------------------------------------------------------------
    def sql(self, q):
        return q.replace("?", "%s") if self.pg else q

    def create(self):
        real = "DOUBLE PRECISION" if self.pg else "REAL"
        serial = "BIGSERIAL PRIMARY KEY" if self.pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
        axes = ", ".join("%s_%s %s" % (a, c, t) for a in AXES for c, t in AXIS_COLS)
        ddl = DDL.replace("{axes}", axes).replace("{real}", real).replace("{serial}", serial)
        self.run(lambda cur: [cur.execute(s) for s in ddl.split(";") if s.strip()])

    def run(self, fn, write=True):
        """fn(cursor) in one transaction; commit, or roll back and raise DbError."""
        c = self.conn()
        try:
            cur = c.cursor()
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            out = fn(cur)
            c.commit()
            return out
        except self._errors + (OverflowError, ValueError, TypeError) as e:
            try:
                c.rollback()
            except Exception:
                pass
            data = isinstance(e, self._data_errors + (OverflowError, ValueError, TypeError))
            if not data:
                self.drop_conn()
            raise (DataError if data else DbError)("%s: %s" % (type(e).__name__, e)) from e

    def query(self, q, args=()):
        """Rows as dicts."""
        def fn(cur):
            cur.execute(self.sql(q), tuple(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
        try:
            return self.run(fn, write=False)
        except DbError:  # once more on a new connection (the server may have restarted since)
            return self.run(fn, write=False)
