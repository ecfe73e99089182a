# SPDX-License-Identifier: MIT
"""New TCP connections during applies (test_noreload and bench/noreload.py): a server and a client
program, each run with python3 -c in a network namespace.

SERVER PORT accepts and closes connections; prints "ready" once it listens.
CLIENT ADDR PORT opens a new connection every 10 ms; a connection is bad when it fails or takes
over 500 ms (a SYN dropped by a reload's DROP policy is retransmitted after 1 s). Each line on
its stdin prints "total bad"; "stop" (or end of input) waits for the connection in flight, prints
the final "total bad" and exits.
"""

SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""

CLIENT = r"""
import socket, sys, time, threading
stop = False
res = [0, 0]
def loop():
    while not stop:
        t0 = time.monotonic()
        try:
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); c.close(); ok = True
        except OSError:
            ok = False
        dt = time.monotonic() - t0
        res[0] += 1
        if not ok or dt > 0.5:
            res[1] += 1
        time.sleep(max(0, 0.01 - dt))
t = threading.Thread(target=loop); t.start()
for line in sys.stdin:
    if line.strip() == "stop":
        break
    print(res[0], res[1], flush=True)
stop = True; t.join()
print(res[0], res[1], flush=True)
"""
