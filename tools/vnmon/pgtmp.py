"""A private throwaway PostgreSQL cluster (Debian's postgresql package): initdb + pg_ctl on a
temp dir and a free loopback port, for tests, benchmarks and the fleet simulation.

    pg = TempPostgres()          # started; pg.dsn("vn") after pg.create_db("vn")
    pg.stop(); pg.start()        # a database outage and its end
    pg.destroy()

PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (created
by the Debian package) and its programs run through `runuser -u postgres`.
"""
import glob
import os
import shutil
import subprocess
import tempfile

from loopback import free_port, wait_listening  # (tools/ is on the path: vnmon is imported as a package from there)


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    raise RuntimeError("PostgreSQL is missing: run `make setup` (apt-get install postgresql)")


class TempPostgres:
    def __init__(self, port=None, user="vn"):
        self.bin = pg_bindir()
        self.port = port or free_port()
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="vn-pg-")
        self.data = os.path.join(self.dir, "data")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", user, "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, prog, *args, check=True):
        cmd = [os.path.join(self.bin, prog)] + list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=self.dir)
        if check and r.returncode:
            raise RuntimeError("%s failed (%d): %s%s" % (prog, r.returncode, r.stdout[-1000:], r.stderr[-1000:]))
        return r

    def start(self):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=40" % (self.port, self.dir))
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30", "-o", opts, "start")
        if not wait_listening(self.port):
            raise RuntimeError("postgres did not listen on %d" % self.port)

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def dsn(self, db="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user, self.port, db)

    def create_db(self, name):
        import psycopg
        with psycopg.connect(self.dsn(), autocommit=True) as c:
            c.execute('DROP DATABASE IF EXISTS "%s"' % name)
            c.execute('CREATE DATABASE "%s"' % name)
        return self.dsn(name)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
