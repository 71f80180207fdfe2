"""Lab 02 · a message client: send messages as frames, read one answer per message.

Run it:  python message_client.py     (the server must be running; another port: python message_client.py 5001)
Type a line to send it as one message; "one | two | three" sends three
messages at once, in one write, and the server still tells them apart.
"""

import socket
import sys

from framing import FrameReader, encode_frame

HOST = "127.0.0.1"
PORT = 5000


def connect(host: str, port: int) -> socket.socket:
    """Return a TCP socket connected to the server at (host, port) (as in lab 01)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect((host, port))
    return sock


def ask_all(sock: socket.socket, reader: FrameReader, texts: list[str]) -> list[str]:
    """Send every text as a frame, then read one answer per text; return the answers.

    - A text becomes bytes with text.encode("utf-8"), and a frame with encode_frame().
    - Send ALL the frames first (joined into one sendall() if you like: the
      server must cope), then read the answers. Sending one and waiting for
      its answer before the next would work too, but slowly: a round trip each.
    - Read each answer with reader.read_frame() — never with a bare recv():
      the answers may arrive in pieces, or several at once. `reader` is the
      connection's one FrameReader, so bytes of a later answer are never lost.
    - read_frame() returning None means the server closed before answering
      everything: raise ConnectionError.
    - Return the answers as text (bytes.decode("utf-8")), in order.
    """
    raise NotImplementedError('TODO(lab 02.5): sendall every text as a frame; then one reader.read_frame() per text (None: ConnectionError); return them decoded')


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    with connect(HOST, port) as sock:
        reader = FrameReader(sock)
        print(f"connected to {HOST}:{port} — type a message (a | b sends two); "
              "an empty line ends")
        for line in sys.stdin:
            texts = [text.strip() for text in line.split("|") if text.strip()]
            if not texts:
                break
            for answer in ask_all(sock, reader, texts):
                print("answer:", answer)


if __name__ == "__main__":
    main()
