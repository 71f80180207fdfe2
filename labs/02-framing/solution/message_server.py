"""Lab 02 · a message server: every message a client sends gets its own answer.

The answer to a client's message number N is "N: " and the message in
capitals: send b"hello" then b"world", get back b"1: HELLO" and b"2: WORLD".
Every message, both ways, travels as a frame (see framing.py).

Run it:  python message_server.py     (listens on 127.0.0.1:5000; another port: python message_server.py 5001)
Try it:  python message_client.py     (in a second terminal)
"""

import socket
import sys
import threading

from framing import FrameError, FrameReader, encode_frame

HOST = "127.0.0.1"
PORT = 5000


def open_listener(host: str, port: int) -> socket.socket:
    """Return a TCP socket bound to (host, port) and listening for clients (as in lab 01)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen()
    return listener


def answer(number: int, body: bytes) -> bytes:
    """The answer to a client's message number `number`: b"3: HELLO" for (3, b"hello")."""
    return f"{number}: ".encode() + body.upper()


def handle(conn: socket.socket) -> None:
    """Answer every message the client sends, one frame back per frame in, until it closes.

    - Make ONE FrameReader for this connection, and use it for every message:
      its buffer may already hold the start of the next one.
    - For each frame: count it (the first is 1), and send back
      encode_frame(answer(count, body)) with sendall().
    - read_frame() returns None when the client has closed: return then.
    - A FrameError (a length of 0 or over 64 KiB, or a frame cut off) means the
      client is out of step: say so on sys.stderr and return. serve() closes
      the connection, and serves the next client.
    """
    # BEGIN SOLUTION 02.4: one FrameReader; for each frame sendall(encode_frame(answer(count, body))); None: return; FrameError: return too
    reader = FrameReader(conn)
    count = 0
    try:
        while (body := reader.read_frame()) is not None:
            count += 1
            conn.sendall(encode_frame(answer(count, body)))
    except FrameError as error:
        print(f"closing a client that broke the framing: {error}", file=sys.stderr)
    # END SOLUTION


def serve(listener: socket.socket) -> None:
    """Serve clients one after another, forever (as in lab 01).

    A client that vanishes (ConnectionError) ends only that client's connection.
    """
    while True:
        conn, address = listener.accept()
        with conn:
            try:
                handle(conn)
            except ConnectionError as error:
                print(f"{address[0]}:{address[1]} vanished: {error}", file=sys.stderr)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    listener = open_listener(HOST, port)
    print(f"message server on {HOST}:{listener.getsockname()[1]} — Ctrl-C stops it")
    # serve() runs in a helper thread so that Ctrl-C reaches this one even on
    # Windows, where a blocked accept() would not notice it.
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
