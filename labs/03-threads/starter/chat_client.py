"""Lab 03 · a chat client to try your server with (GIVEN — nothing to write here).

Run it:  python chat_client.py        (the server must be running; another port: python chat_client.py 5001)

Type a line to send it to everyone else; what the others send appears as it
comes. An empty line (or Ctrl-D / Ctrl-Z Enter) ends the client.
"""

import socket
import sys
import threading

import framing

HOST = "127.0.0.1"
PORT = 5000


def print_incoming(sock: socket.socket) -> None:
    """Print every message the server relays, until it closes (a thread of its own)."""
    try:
        while (body := framing.recv_frame(sock)) is not None:
            print("»", body.decode("utf-8", errors="replace"))
    except OSError:
        pass  # the connection is gone: main() notices on its next send
    print("(the server closed the connection)")


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    with socket.create_connection((HOST, port)) as sock:
        print(f"connected to {HOST}:{port} as {sock.getsockname()[1]} — type a line; an empty line ends")
        # Reading and typing at the same time: the receiving loop gets a thread of its own.
        threading.Thread(target=print_incoming, args=(sock,), daemon=True).start()
        for line in sys.stdin:
            if not line.strip():
                break
            framing.send_frame(sock, line.rstrip("\n").encode("utf-8"))


if __name__ == "__main__":
    main()
