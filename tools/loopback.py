"""Loopback ports for the servers that tests, tools and benchmarks start on this host (Mosquitto,
PostgreSQL, the node's portal on the unix port): a free port, and waiting until one listens."""
import socket
import time


def free_port():
    """A free TCP port on 127.0.0.1 (the kernel's choice, from the ephemeral range)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_listening(port, timeout=10, proc=None):
    """True once a TCP connection to 127.0.0.1:port succeeds; False after `timeout` s, or as soon
    as `proc` (the server's Popen, if given) has exited."""
    deadline = time.time() + timeout
    while time.time() < deadline and (proc is None or proc.poll() is None):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
