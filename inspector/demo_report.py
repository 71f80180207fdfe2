"""What the demo's report says: its sections, in reading order, with their prose.

The demo (``demo.py``) runs the chat and decodes the capture; this module
turns what it found into a page a student reads once, top to bottom. The
prose tells the script's story; the tables (names, sizes, what was found,
what each key log opens) come from the capture, so if the wire said
otherwise, the page would too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from socketlab.protocol import E2EMessage, E2EWhisper, Login, Message, Whisper

from .chart_inputs import frames_of
from .decode import Decoded, Frame
from .events import Connection, Data, Event
from .report import (
    Cell,
    FramesSection,
    ImageSection,
    Prose,
    Section,
    TableSection,
    TermsSection,
    write_report,
)
from .report_frames import connection_title, session_mode
from .usernames import refused_logins, user_names


@dataclass(frozen=True, slots=True)
class Secret:
    """A text the demo sent, how it travelled, and who could find it."""

    text: str
    how: str
    on_the_wire: bool  # in the captured bytes, no key needed
    with_server_keys: bool  # in what the server's key log decrypts


@dataclass(frozen=True, slots=True)
class Capture:
    """How the bytes were captured (the tap's method and words) and where they are."""

    method: str
    explanation: str
    server_port: int
    pcap: Path | None


def readable(frames: Sequence[Frame], text: str) -> bool:
    """Whether ``text`` shows in any frame as decoded: a message body or a note."""
    return any(text in body.decode("utf-8") for f in frames for body in f.bodies) \
        or any(text in f.note for f in frames)


def search(events: Sequence[Event], decoded: Sequence[Decoded],
           secrets: Sequence[tuple[str, str]]) -> list[Secret]:
    """Look for each (text, how it was sent) in every captured byte, then in
    the frames decrypted with the server's key log."""
    streams: dict[tuple[Connection, str], bytearray] = {}
    for event in events:
        if isinstance(event, Data):
            streams.setdefault((event.conn, event.direction), bytearray()).extend(event.data)
    frames = frames_of(decoded)
    return [Secret(text, how, any(text.encode() in s for s in streams.values()),
                   readable(frames, text)) for text, how in secrets]


def _found(yes: bool) -> Cell:
    return Cell("FOUND", "found") if yes else Cell("not found", "hidden")


def _first(frames: Sequence[Frame], conn: Connection | None, kind: type) -> Frame | None:
    return next((f for f in frames if f.conn == conn and any(isinstance(m, kind)
                                                                for m in f.messages)), None)


def _conn_of(names: dict[Connection, str], name: str) -> Connection | None:
    return next((c for c, n in names.items() if n == name), None)


def _e2e_part(note: str) -> str:
    """The end-to-end part of a frame's note (after "decrypted with the key log; ")."""
    return next((part for part in note.split("; ") if "end-to-end" in part), note)


def _whisper_rows(decoded: Sequence[Decoded], views: Mapping[str, Sequence[Decoded]],
                  names: dict[Connection, str]) -> list[list[object]]:
    """One row per whisper alice sent: the wire, the server's key log, the recipient's."""
    server = frames_of(decoded)
    alice = _conn_of(names, "alice")
    rows: list[list[object]] = []
    e2e = _first(server, alice, E2EWhisper)
    bob = _conn_of(names, "bob")
    if e2e is not None:
        (box,) = [m for m in e2e.messages if isinstance(m, E2EWhisper)]
        opened = _first(frames_of(views["bob"]), bob, E2EMessage)
        rows.append([
            "alice → bob: END-TO-END (both clients are new)",
            Cell(f"a sealed frame of {len(e2e.wire)} B; inside it, an e2e_whisper "
                 f"whose box is {len(box.box)} B", "hidden"),
            Cell(f"the sealed frame opens; inside it: {_e2e_part(e2e.note)}", "hidden"),
            Cell(f"bob's key log: {_e2e_part(opened.note)}" if opened is not None
                 else "bob's connection was not found", "decrypted"),
        ])
    plain = next((f for f in server if f.conn == alice and any(
        isinstance(m, Whisper) and m.to == "carol" for m in f.messages)), None)
    carol = _conn_of(names, "carol")
    if plain is not None:
        got = next((f for f in frames_of(views["carol"]) if f.conn == carol and any(
            isinstance(m, Message) and m.to == "carol" for m in f.messages)), None)
        rows.append([
            "alice → carol: TRANSPORT ONLY (carol's client is old: it has no end-to-end key)",
            Cell(f"a sealed frame of {len(plain.wire)} B", "hidden"),
            Cell(" ".join(b.decode("utf-8") for b in plain.bodies), "found"),
            Cell("carol's key log: " + " ".join(b.decode("utf-8") for b in got.bodies)
                 if got is not None
                 else "carol's connection was not found", "decrypted"),
        ])
    return rows


def _who_rows(decoded: Sequence[Decoded], names: dict[Connection, str],
              refused: dict[Connection, str]) -> list[list[object]]:
    frames = frames_of(decoded)
    counts: dict[Connection, int] = {}
    e2e: set[Connection] = set()
    for f in frames:
        counts[f.conn] = counts.get(f.conn, 0) + 1
        if any(isinstance(m, Login) and m.e2e_key is not None for m in f.messages):
            e2e.add(f.conn)
    rows: list[list[object]] = []
    for conn, count in counts.items():
        mode = session_mode(decoded, conn)
        session = {"box": "encrypted", "plain": Cell("PLAINTEXT", "found")}.get(mode, "unknown")
        login = f"refused: {refused[conn]}" if conn in refused else \
            "welcomed" if conn in names else "not seen"
        whispers = "end-to-end" if conn in e2e else "—" if conn in refused else "transport only"
        rows.append([connection_title(conn, names), conn.client[1], session, login, whispers,
                     count])
    return rows


def _captured(capture: Capture) -> TermsSection:
    terms = [
        ("lo", "the loopback interface: the computer's network to itself. Traffic to "
               "127.0.0.1 never leaves the machine, yet it crosses lo as real packets, "
               "so it can be captured like Wi-Fi traffic."),
        ("port", f"a number that picks which program gets a connection. The server "
                 f"listened on port {capture.server_port}; each client got a port of its own "
                 "(the client port column above)."),
        ("pcap", "a file of captured packets, byte for byte"
                 + (f" ({capture.pcap.name} here). Open it with "
                    f"`socketlab read {capture.pcap.name} --keylog keys.log`, or in Wireshark."
                    if capture.pcap else ".")),
        ("key log", "keys.log: the server wrote down each session's key, so that you (its "
                    "owner) can decrypt your own traffic. Each client wrote its own "
                    "(alice.keys, bob.keys, …)."),
    ]
    if capture.method == "proxy":
        terms.append(("proxy", "a program in the middle: clients connected to it, and it "
                               "passed every byte on to the server, keeping a copy. Used "
                               "because sniffing lo needs administrator rights."))
    terms.append(("this run", capture.explanation))
    how = "sniffed the loopback interface" if capture.method == "sniff" \
        else "recorded through a proxy"
    return TermsSection("How this was captured", terms, Prose(
        f"The server and all five clients ran on this computer. The demo {how} while they "
        "chatted, so every byte they sent is in the capture.",
        "Nothing was sent to another computer: the whole lesson happens on 127.0.0.1.",
        "Where else on a real network could someone capture these packets?"))


FRAME_TERMS = [
    ("len", "the first 4 bytes of every frame: how many bytes follow (00 00 00 6c = 108). "
            "TCP is a stream, so this is how the receiver knows where a message ends."),
    ("body", "in a plaintext session, the message itself: JSON anyone can read."),
    ("nonce", "24 bytes used once: 1 byte for the direction (43 = C, client → server; "
              "53 = S, server → client), 15 zero bytes, then the counter."),
    ("ctr", "the counter in the nonce: 0 for each side's first sealed frame, then 1, 2, … "
            "A receiver refuses a frame whose counter is not the next one (a replay)."),
    ("mac", "16 bytes that prove nobody changed the frame. Flip one bit anywhere and the "
            "receiver refuses it."),
    ("data", "the ciphertext: the message, encrypted. As long as the message (plus 4 length "
             "bytes), so encryption hides the words but not the size."),
    ("B", "bytes. A size like say (85 B) counts the whole frame on the wire, its 4 length "
          "bytes included."),
]


def write_demo_report(out: Path, *, capture: Capture, decoded: Sequence[Decoded],
                      views: Mapping[str, Sequence[Decoded]], highlights: Sequence[Frame],
                      secrets: Sequence[Secret], charts: dict[str, Path],
                      ladder_example: Frame | None) -> Path:
    """The demo's report.html: ``decoded`` with the server's key log, ``views`` with
    a client's (by user name), the secret search and the charts."""
    names = user_names(decoded)
    refused = refused_logins(decoded)
    box = next((m.box for f in frames_of(decoded) for m in f.messages
                if isinstance(m, E2EWhisper)), b"")
    batch = "" if ladder_example is None else (
        f" A label like {ladder_example.label} ({len(ladder_example.wire)} B) is one sealed "
        f"frame carrying {len(ladder_example.messages)} messages: the server sends messages "
        "that are ready at the same moment together.")
    sections: list[Section] = [
        TableSection("Who was on the wire",
                     ["user", "client port", "session", "login", "whispers", "frames"],
                     _who_rows(decoded, names, refused), Prose(
            "Each row is one TCP connection to the server. Until its login is read a "
            "connection is just a port number; from then on this page calls it by its "
            "user's name.",
            "eve's session is PLAINTEXT. The client that asked for \"Alice\" was refused: "
            "names are compared without case, and alice was already there.",
            "Why would a server refuse \"Alice\" when \"alice\" is online? Who could be "
            "fooled otherwise?")),
        _captured(capture),
        TermsSection("How to read a frame", FRAME_TERMS, Prose(
            "Every message travels as a frame: 4 length bytes, then the body. In an "
            "encrypted session the body is sealed: nonce, MAC, then ciphertext.",
            "In the tables below, the left column is what a sniffer sees on the wire. The "
            "right column is what it means: in an orange dashed box when it was decrypted "
            "with the key log (it never crossed the wire that way), in a blue box when the "
            "frame was plaintext (those very bytes crossed the wire). Blue is plaintext and "
            "orange is sealed everywhere on this page, the charts included.",
            "The counter goes up by one with every frame. What happens if an attacker sends "
            "an old frame again?")),
        FramesSection("Highlights", decoded, names, refused, highlights, Prose(
            "A few frames worth a first look: alice's handshake, her whispers, and eve's "
            "plaintext line. Each sits under its own connection, numbered within it.",
            "The handshake (hello, server_hello) is plaintext in every session: it carries "
            "only public keys. After it alice's frames are sealed, while eve's say can be "
            "read straight off the wire.",
            "Anyone can read the server_hello. Why is it safe to send the server's public "
            "key in the clear?")),
        TableSection("Two whispers: end-to-end against transport only",
                     ["whisper", "on the wire", "decrypted with the server's key log",
                      "decrypted with the recipient's key log"],
                     _whisper_rows(decoded, views, names), wide=True, prose=Prose(
            "alice whispered twice. bob's client is new, so her whisper to him went "
            "end-to-end: sealed for bob's key on alice's computer, then sealed again for "
            "the trip to the server. carol's client is old (no end-to-end key), so that "
            "whisper was only sealed for the trip: transport encryption.",
            "The server's key log opens every trip, so carol's whisper is readable by the "
            "server, or by anyone who gets its key log. bob's whisper stays a box of "
            f"{len(box)} bytes; only bob's own key log (his client's e2e secret) opens it.",
            "The server cannot read bob's whisper. What can it still learn about it?")),
        FramesSection("The whisper, opened with bob's key log", views["bob"], names, refused,
                      [f for f in frames_of(views["bob"]) if f.conn == _conn_of(names, "bob")
                       and any(isinstance(m, E2EMessage) for m in f.messages)],
                      Prose(
            "bob's copy of the end-to-end whisper, decoded with bob's own key log "
            "(`bob.keys`): his session key opens the trip from the server, and his e2e "
            "secret, which never left his client, opens the box inside.",
            "Here the text appears. Only the key logs of alice and bob can show it; the "
            "server's never does, though the server relayed every byte of it.",
            "bob's key log lives on bob's computer. What would it take for someone else "
            "to read this whisper?")),
        TableSection("Searching every captured byte",
                     ["secret", "how it was sent", "in the captured bytes (no key)",
                      "in the frames decrypted with the server's key log"],
                     [[s.text, s.how, _found(s.on_the_wire), _found(s.with_server_keys)]
                      for s in secrets], wide=True, prose=Prose(
            "The demo searched for each secret twice: in the raw capture (all a sniffer "
            "without keys has), then in every frame decrypted with the server's key log "
            "(what the server itself can read).",
            "FOUND in red means that reader sees the secret; not found in green means it "
            "stays hidden from them.",
            "Which secret would a classmate sniffing the Wi-Fi read? Which would the "
            "server's owner read?")),
        ImageSection("One connection as a ladder diagram", charts["ladder"],
                     "alice's connection, one arrow per frame, time running down. Dashed "
                     "blue arrows are plaintext (the handshake), solid orange ones sealed. "
                     "Each label is the message type, read with the key log, and the size "
                     "of the whole frame on the wire in bytes (B)." + batch, Prose(
            "alice's whole connection as a ladder (sequence) diagram: her side on the "
            "left, the server on the right.",
            "Only the first two frames are plaintext. To whisper to bob end-to-end, alice "
            "first asks for his key (lookup, user_key), then sends the e2e_whisper.",
            "The server hands alice bob's key. Why can't it hand her a fake one?")),
        ImageSection("Plaintext against ciphertext", charts["bytes"],
                     "Top: how often each byte value (0 to 255) occurs in the decrypted "
                     "messages; bottom: in the ciphertext that carried them. Entropy, in "
                     "bits per byte, measures how unpredictable the bytes are: 8.00 is the "
                     "most (all 256 values equally likely, like random bytes); JSON scores "
                     "much less because it uses few values, mostly printable ones (the "
                     "grey band).", Prose(
            "Two histograms of byte values: the messages before encryption, and the same "
            "messages as they crossed the wire.",
            "The plaintext piles up in the printable band. The ciphertext spreads evenly "
            "over all 256 values, close to the dashed line of a uniform spread.",
            "A sniffer sees only the bottom chart. Could it tell a chat message from "
            "random noise?")),
        ImageSection("Bytes per message, with and without encryption", charts["sizes"],
                     "For each message type, one frame sent in plaintext (blue) and sealed "
                     "(orange), in bytes on the wire. Sealing adds 44 bytes: 24 of nonce, "
                     "16 of MAC and 4 for the length of the message inside.", Prose(
            "The size of one frame of each message type, with and without encryption.",
            "The orange bar is always 44 bytes taller: encryption costs the same for a "
            "short message as for a long one.",
            "Encryption hides the words, not the size. What could a sniffer guess from the "
            "sizes alone?")),
        ImageSection("Threads at work", charts["threads"],
                     "One row per thread, coloured by what it was doing over time. The "
                     "server runs a reader and a writer thread for each client, named after "
                     "its user once logged in; the pair named by an address served the "
                     "refused client. Each client has a receive thread.", Prose(
            "What every thread of the server and the clients was doing while they chatted.",
            "The server's reader threads spend most of their time waiting in recv (blue) "
            "for the next frame; its writer threads wait on their queue (pink) until there "
            "is something to send.",
            "Why does each client get its own reader thread on the server, instead of one "
            "thread for everyone?")),
        FramesSection("Every frame", decoded, names, refused, None, Prose(
            "Every frame of the capture, decrypted with the server's key log: one table "
            "per connection, numbered 1, 2, … within it.",
            "Connections overlap in time (their frames interleave on the wire), but each "
            "table holds one connection only. The refused connection ends after its "
            "error; eve's plaintext session has no sealed frame at all.",
            "bob's e2e_message stays a box here. What changes if you decrypt with his key "
            "log instead: `socketlab read capture.pcap --keylog bob.keys`?")),
    ]
    intro = (
        "Five chat clients talked to one server on this computer while the demo recorded "
        "every byte. alice and bob have new clients (end-to-end whispers); carol has an "
        "old one; a fourth client asked for the name \"Alice\" and was refused; eve "
        "connected without encryption.\n\n"
        "This page shows what crossed the wire, and what it means once decrypted with the "
        "server's key log. Read it top to bottom: each section says what you are looking "
        "at, what to notice, and asks one question."
    )
    return write_report(out, title="socketlab demo: a chat on the wire", sections=sections,
                        intro=intro)


def batch_frame(frames: Sequence[Frame]) -> Frame | None:
    """The first frame carrying several messages (the ladder's ``message+message``)."""
    return next((f for f in frames if len(f.messages) > 1), None)
