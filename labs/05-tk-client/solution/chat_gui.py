"""Lab 05 · a Tk chat client whose window never waits for the network.

Run it:  python chat_gui.py NAME [PORT]
(against a server that allows plain mode: socketlab server --allow-plaintext)

Two threads share the work:

    receive thread                       Tk main thread
    ──────────────                       ──────────────
    message = connection.receive()       every POLL_MS, poll():
    events.put(message)    ──queue──►      take up to BATCH events (never wait)
    (waits in recv: fine, it is            handle(event): log, user list
     not the window's thread)              after(POLL_MS, poll)

Only the main thread may touch a widget. The receive thread touches the
connection and the queue, nothing else.
"""

import queue
import sys
import threading
import tkinter as tk

from chat_protocol import Connection, ProtocolError, connect

POLL_MS = 50  # how often the window looks at the queue
BATCH = 100  # at most this many events per look: a flood is shown in slices
CLOSED = None  # the receive thread's last event: the connection has ended
HELP = "commands: /w NAME MESSAGE (whisper) · /who (who is here) · /quit"


def format_message(message: dict) -> str:
    """A chat message as a log line: "bob: hi", or "[whisper] bob → alice: psst"."""
    if "to" in message:
        return f"[whisper] {message['from']} → {message['to']}: {message['text']}"
    return f"{message['from']}: {message['text']}"


class ChatWindow:
    """The chat window: a log, the user list, an entry and a Send button.

    ``ChatWindow(root, connection)`` builds the widgets in ``root``, starts the
    receive thread and the polling. The widgets (the checks use these names):
    ``log`` (Text), ``users`` (Listbox), ``entry`` (Entry), ``send_button``.
    """

    def __init__(self, root: tk.Tk, connection: Connection) -> None:
        self.root = root
        self.connection = connection
        self.events: queue.Queue = queue.Queue()  # receive thread → main thread
        self._scroll_pending = False
        root.title(f"lab 05 chat · {connection.name}")
        root.protocol("WM_DELETE_WINDOW", self.close)

        self.log = tk.Text(root, width=64, height=20, wrap="word", state="disabled")
        self.users = tk.Listbox(root, width=18)
        self.entry = tk.Entry(root)
        self.send_button = tk.Button(root, text="Send", command=self.send)
        self.log.grid(row=0, column=0, sticky="nsew", padx=(8, 4), pady=8)
        self.users.grid(row=0, column=1, columnspan=2, sticky="ns", padx=(4, 8), pady=8)
        self.entry.grid(row=1, column=0, columnspan=2, sticky="ew", padx=(8, 4), pady=(0, 8))
        self.send_button.grid(row=1, column=2, padx=(4, 8), pady=(0, 8))
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        self.entry.bind("<Return>", lambda event: self.send())
        self.users.bind("<Double-Button-1>", self.on_user_double_click)
        self.entry.focus_set()

        for name in connection.users:
            self.users.insert("end", name)
        self.show(f"you are {connection.name}. {HELP}")

        # BEGIN SOLUTION 05.2: start the receive thread (a daemon running receive_loop), then schedule the first poll with after()
        threading.Thread(target=self.receive_loop, name="receive", daemon=True).start()
        self.root.after(POLL_MS, self.poll)
        # END SOLUTION

    def show(self, line: str) -> None:
        """Add one line at the end of the log, and scroll to it soon (main thread only)."""
        self.log.configure(state="normal")  # a disabled Text ignores insert()
        self.log.insert("end", line + "\n")
        self.log.configure(state="disabled")
        # Scrolling lays the text out again, which costs more than the insert:
        # do it once, when Tk is idle, not once per line of a flood.
        if not self._scroll_pending:
            self._scroll_pending = True
            self.root.after_idle(self._scroll_to_end)

    def _scroll_to_end(self) -> None:
        self._scroll_pending = False
        self.log.see("end")

    def receive_loop(self) -> None:
        """The receive thread's whole life: every message goes on ``self.events``.

        - ``self.connection.receive()`` waits for the next message (a dict) and
          returns None once the server has closed; it raises OSError when the
          connection breaks or the window closed it, and ProtocolError when the
          server sent something that is not a message.
        - Put every message on ``self.events``; at the end, whatever the reason,
          put ``CLOSED`` so the window learns it.
        - Touch no widget here, not even ``after()``: Tk belongs to the main thread.
        """
        # BEGIN SOLUTION 05.1: receive messages until the connection ends, put each on self.events, then put CLOSED
        try:
            while (message := self.connection.receive()) is not None:
                self.events.put(message)
        except (OSError, ProtocolError):
            pass  # closed by the window, the network broke, or garbage came: the end either way
        finally:
            self.events.put(CLOSED)
        # END SOLUTION

    def poll(self) -> None:
        """Main thread, every POLL_MS: show what the receive thread has queued.

        - Take at most BATCH events, and never wait for one: ``get_nowait()``
          raises ``queue.Empty`` when the queue is empty. A ``get()`` that waits
          freezes the window until the next message comes.
        - ``handle(event)`` each one; ``CLOSED`` means the connection has ended:
          show "disconnected" and stop polling.
        - Otherwise schedule the next poll with ``self.root.after(...)``. Tip: do
          it in a ``finally:``, so that one message handle() cannot show does
          not stop the updates for good.
        """
        # BEGIN SOLUTION 05.3: handle at most BATCH queued events without waiting, then poll again with after() (stop at CLOSED)
        delay: int | None = POLL_MS
        try:
            for _ in range(BATCH):
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    break
                if event is CLOSED:
                    self.show("*** disconnected")
                    delay = None  # the end: no more polls
                    break
                self.handle(event)
            else:
                delay = 1  # a full batch: more may wait; come back as soon as Tk has redrawn
        finally:
            if delay is not None:
                self.root.after(delay, self.poll)
        # END SOLUTION

    def handle(self, message: dict) -> None:
        """Show one message from the server (main thread only)."""
        if message["type"] in ("joined", "left", "users"):
            self.update_users(message)
        else:
            self.show_message(message)

    def show_message(self, message: dict) -> None:
        """A chat ``message``, or an ``error``, as a line in the log.

        - "message": ``format_message(message)``
        - "error": its "message" field (or its "code" when that is empty)
        - any other type: nothing (a new kind of message must not crash the window)
        """
        # BEGIN SOLUTION 05.4: show a chat message (format_message) or an error in the log
        if message["type"] == "message":
            self.show(format_message(message))
        elif message["type"] == "error":
            self.show(f"*** error: {message.get('message') or message.get('code')}")
        # END SOLUTION

    def update_users(self, message: dict) -> None:
        """Keep ``self.users`` (a Listbox) in step, and say what changed in the log.

        - "joined": insert message["name"] at the end of the list
        - "left": delete message["name"] (its index is in ``self.users.get(0, "end")``)
        - "users" (the answer to /who): replace the whole list by message["names"],
          and show the names in the log
        """
        # BEGIN SOLUTION 05.5: keep self.users in step with joined, left and users, and say so in the log
        if message["type"] == "joined":
            self.users.insert("end", message["name"])
            self.show(f"*** {message['name']} joined")
        elif message["type"] == "left":
            names = self.users.get(0, "end")
            if message["name"] in names:
                self.users.delete(names.index(message["name"]))
            self.show(f"*** {message['name']} left")
        elif message["type"] == "users":
            self.users.delete(0, "end")
            for name in message["names"]:
                self.users.insert("end", name)
            self.show("*** here: " + ", ".join(message["names"]))
        # END SOLUTION

    def on_user_double_click(self, event: tk.Event) -> None:
        """A double-click on a name starts a whisper: the entry becomes "/w NAME "."""
        # BEGIN SOLUTION 05.6: put "/w NAME " (the name under the mouse) in the entry
        index = self.users.nearest(event.y)
        if index < 0:
            return  # an empty list
        self.entry.delete(0, "end")
        self.entry.insert(0, f"/w {self.users.get(index)} ")
        self.entry.focus_set()
        # END SOLUTION

    def send(self) -> None:
        """Send what the entry holds (Enter or the Send button), then empty the entry.

        - "/w NAME MESSAGE": a whisper {"type": "whisper", "to": NAME, "text": MESSAGE}
        - "/who": {"type": "who"} (the answer comes back as a ``users`` message)
        - "/quit": ``self.close()``
        - any other "/...", or "/w" without a name and a message: show HELP, send nothing
        - anything else: {"type": "say", "text": ...}; an empty line sends nothing
        """
        line = self.entry.get().strip()
        self.entry.delete(0, "end")
        if not line:
            return
        # BEGIN SOLUTION 05.7: send a say, or the command the line is (/w NAME MESSAGE, /who, /quit), else show HELP
        if not line.startswith("/"):
            self.connection.send({"type": "say", "text": line})
            return
        command, _, rest = line.partition(" ")
        name, _, text = rest.strip().partition(" ")
        if command == "/w" and name and text.strip():
            self.connection.send({"type": "whisper", "to": name, "text": text.strip()})
        elif command == "/who" and not rest:
            self.connection.send({"type": "who"})
        elif command == "/quit":
            self.close()
        else:
            self.show(HELP)
        # END SOLUTION

    def close(self) -> None:
        """Leave the chat: say bye, close the connection, close the window."""
        try:
            self.connection.send({"type": "bye"})
        except OSError:
            pass  # the server is gone already
        self.connection.close()  # the receive thread's receive() returns: it puts CLOSED
        self.root.destroy()


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python chat_gui.py NAME [PORT]")
    name = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 7777
    try:
        connection = connect("127.0.0.1", port, name)
    except (OSError, ProtocolError) as error:
        sys.exit(f"cannot join the chat on port {port}: {error}")
    root = tk.Tk()
    ChatWindow(root, connection)
    root.mainloop()


if __name__ == "__main__":
    main()
