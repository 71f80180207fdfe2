"""Lab 03 · a chat server: a thread per client, every message to every other client.

Run it:  python chat_server.py                     (listens on 127.0.0.1:5000; another port: python chat_server.py 5001)
Trace:   python chat_server.py --trace trace.jsonl  (then: socketlab chart threads trace.jsonl -o threads.png)
Try it:  python chat_client.py                      (in two or three more terminals)
"""

import argparse
import socket
import sys
import threading

import framing
import tracing

HOST = "127.0.0.1"
PORT = 5000


def receive(conn: socket.socket) -> bytes | None:
    """GIVEN: the client's next message, or None when the client closed (traced as "recv")."""
    tracing.record("recv")
    body = framing.recv_frame(conn)
    tracing.record("handling")
    return body


def send(conn: socket.socket, body: bytes) -> None:
    """GIVEN: send one message to one client (traced as "sending")."""
    tracing.record("sending")
    try:
        framing.send_frame(conn, body)
    finally:
        tracing.record("handling")


class Room:
    """The clients connected now (the registry), and the lock that guards it.

    Every client's thread reads and changes self.clients. Touch it ONLY while
    holding self.lock (``with self.lock:``), so that no thread ever sees the
    list half-changed by another.
    """

    def __init__(self) -> None:
        self.lock = tracing.Lock()  # a threading.Lock that shows up on the timeline when tracing
        self.clients: list[socket.socket] = []

    def join(self, conn: socket.socket) -> None:
        """Add conn to the room."""
        raise NotImplementedError('TODO(lab 03.1): append conn to self.clients while holding self.lock')

    def leave(self, conn: socket.socket) -> None:
        """Remove conn from the room. A conn that is not (or no longer) in it: do nothing."""
        raise NotImplementedError('TODO(lab 03.2): remove conn from self.clients (if it is there) while holding self.lock')

    def broadcast(self, sender: socket.socket, body: bytes) -> None:
        """Send body to every client in the room except the sender.

        - Copy the list while holding self.lock, then let go of the lock and
          send to each one in the copy. NEVER send while holding the lock: a
          client that does not read makes send() wait — for ever — and every
          other thread that needs the lock (to join, to leave, to send) would
          wait with it.
        - Sending to a client that has just vanished raises an OSError
          (ConnectionResetError, BrokenPipeError…). Skip that client and go on
          with the rest: its own thread will see it leave.
        """
        raise NotImplementedError('TODO(lab 03.3): copy self.clients under self.lock; outside the lock send(client, body) to each but the sender, skipping one whose send raises OSError')


def handle_client(room: Room, conn: socket.socket) -> None:
    """One client's whole life, in its own thread: join, relay messages, leave.

    - Join the room, then loop: body = receive(conn); None means the client
      closed: stop; otherwise room.broadcast(conn, body).
    - A client that vanishes makes receive() raise ConnectionError (e.g.
      ConnectionResetError), one that sends a bad frame ValueError: either
      way that client is done — stop, quietly.
    - However it ends, the client must leave the room and its socket be
      closed (try/finally). Otherwise everybody keeps sending to a ghost.
    """
    try:
        raise NotImplementedError('TODO(lab 03.4): join, loop receive→broadcast until None or ConnectionError/ValueError, finally leave and close conn')
    finally:
        tracing.record("exit")  # the timeline shows this thread ending


def serve(listener: socket.socket, room: Room) -> None:
    """Accept clients forever; each gets a thread of its own running handle_client(room, conn).

    - Name each thread after its client's address, "reader-<host>:<port>"
      (e.g. reader-127.0.0.1:50412): you will see it by that name in the
      timeline chart and in a debugger.
    - Make the threads daemon=True, so that Ctrl-C ends the whole server.
    - Do not wait for a thread to end (no join()): accept the next client at once.
    """
    raise NotImplementedError('TODO(lab 03.5): forever: accept, start a daemon thread named reader-<host>:<port> running handle_client(room, conn)')


def main() -> None:
    parser = argparse.ArgumentParser(description="Lab 03's chat server")
    parser.add_argument("port", nargs="?", type=int, default=PORT)
    parser.add_argument("--trace", metavar="FILE", help="write each thread's states to FILE")
    args = parser.parse_args()
    if args.trace:
        tracing.start(args.trace)
    listener = socket.create_server((HOST, args.port))
    print(f"chat server on {HOST}:{listener.getsockname()[1]} — Ctrl-C stops it")
    # serve() runs in a helper thread so that Ctrl-C reaches this one even on
    # Windows, where a blocked accept() would not notice it.
    threading.Thread(target=serve, args=(listener, Room()), name="accept", daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye", file=sys.stderr)
    finally:
        tracing.stop()


if __name__ == "__main__":
    main()
