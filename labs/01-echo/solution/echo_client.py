"""Lab 01 · an echo client: type a line, see it come back from the server.

Run it:  python echo_client.py        (the server must be running; another port: python echo_client.py 5001)
"""

import socket
import sys

HOST = "127.0.0.1"
PORT = 5000


def connect(host: str, port: int) -> socket.socket:
    """Return a TCP socket connected to the server at (host, port)."""
    # BEGIN SOLUTION 01.4: create a TCP socket and connect it to (host, port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((host, port))
    return sock
    # END SOLUTION


def echo(sock: socket.socket, data: bytes) -> bytes:
    """Send all of data, then read until exactly len(data) bytes have come back.

    - The answer may arrive in pieces of any size: keep calling recv() until
      you have all len(data) bytes.
    - If recv() returns b"" before that, the server has closed: raise
      ConnectionError (waiting longer would wait forever).
    """
    # BEGIN SOLUTION 01.5: sendall the data, then recv in a loop until len(data) bytes came back (b"" early: ConnectionError)
    sock.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = sock.recv(len(data) - len(received))
        if not chunk:
            raise ConnectionError(f"the server closed after {len(received)} of {len(data)} bytes")
        received += chunk
    return received
    # END SOLUTION


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    with connect(HOST, port) as sock:
        print(f"connected to {HOST}:{port} — type a line; an empty line ends")
        for line in sys.stdin:
            if not line.strip():
                break
            answer = echo(sock, line.encode("utf-8"))
            print("echo:", answer.decode("utf-8", errors="replace"), end="")


if __name__ == "__main__":
    main()
