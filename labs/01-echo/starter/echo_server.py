"""Lab 01 · an echo server: whatever a client sends comes straight back.

Run it:  python echo_server.py        (listens on 127.0.0.1:5000; another port: python echo_server.py 5001)
Try it:  python echo_client.py        (in a second terminal)
"""

import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = 5000
CHUNK = 4096  # the most bytes one recv() may return — a message can be longer, or arrive in pieces


def open_listener(host: str, port: int) -> socket.socket:
    """Return a TCP socket bound to (host, port) and listening for clients.

    - A TCP socket over IPv4 is socket.socket(socket.AF_INET, socket.SOCK_STREAM).
    - Set the SO_REUSEADDR option *before* bind(), so a restarted server does
      not fail with "address already in use" while old connections wind down.
    - Port 0 asks the operating system for any free port (the checks use it);
      the socket knows which one it got: listener.getsockname()[1].
    """
    raise NotImplementedError('TODO(lab 01.1): create a TCP socket, set SO_REUSEADDR, bind it to (host, port), listen')


def handle(conn: socket.socket) -> None:
    """Send back every byte the client sends, until the client closes.

    - conn.recv(CHUNK) waits for *some* bytes: between 1 and CHUNK of them.
    - It returns b"" (empty) only when the client has closed its side: stop then.
    - Send each chunk back whole: conn.send() may write only part of what you
      give it and tells you how much; conn.sendall() keeps going until all is sent.
    """
    raise NotImplementedError('TODO(lab 01.2): loop: recv up to CHUNK bytes, return on b"", sendall them back')


def serve(listener: socket.socket) -> None:
    """Serve clients one after another, forever: accept, handle, close, repeat.

    A client that vanishes without saying goodbye makes recv() or sendall()
    raise ConnectionError (e.g. ConnectionResetError). That is that client's
    problem, not the server's: close that connection and accept the next.
    """
    raise NotImplementedError('TODO(lab 01.3): forever: accept a client, handle it, close it (a ConnectionError ends only that client)')


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    listener = open_listener(HOST, port)
    print(f"echo server on {HOST}:{listener.getsockname()[1]} — Ctrl-C stops it")
    # serve() runs in a helper thread so that Ctrl-C reaches this one even on
    # Windows, where a blocked accept() would not notice it.
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
