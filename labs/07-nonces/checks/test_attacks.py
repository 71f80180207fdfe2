"""README step 5 (nothing to write there): the inspector's proxy attacks a real client's session; your server refuses each attack.

Between the kit's ChatClient (alice) and your server sits the proxy in a tamper
mode (`socketlab proxy --replay|--reorder|--reflect|--flip`). bob, logged in
directly, is everyone else in the chat: he must never see a tampered message,
only alice leave with the code your server refused her frame with.
"""

import queue
import time

from conftest import WAIT, KitUser, refusal

from socketlab.client import ChatClient
from socketlab.client.chat_client import ChatError
from socketlab.client.events import Disconnected
from socketlab.i18n import N_
from socketlab.inspector.events import Tampered
from socketlab.inspector.proxy import Proxy
from socketlab.labs import harness
from socketlab.labs.harness import _
from socketlab.protocol import Error, PinStore

STEP = N_("README steps 3 and 4")
# Where the code that refuses each attack is written (step 5 only runs the attack again).
WRITTEN_IN = {
    "replayed": N_("check_nonce(): a counter below self.received is replayed — README step 3"),
    "reordered": N_("check_nonce(): a counter above self.received is reordered — README step 3"),
    "reflected": N_("check_nonce(): our own direction byte is reflected — README step 3"),
    "decrypt_failed": N_("open(): decrypt() checks the MAC first — README step 4"),
}


def _victim(address, pins, lines: list[str]) -> tuple[list[str], bool]:
    """alice logs in through ``address`` and says ``lines``: the error codes she got, and
    whether the server closed her connection (within WAIT)."""
    client = ChatClient(*address, pins=PinStore(pins), timeout=WAIT)
    try:
        try:
            client.connect()
            client.login("alice")
        except ChatError as error:  # e.g. the welcome was reflected: it never reached her
            return [error.code], False
        try:
            for line in lines:
                client.say(line)
        except ChatError:
            pass  # the server closed already: the events say the rest
        codes: list[str] = []
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = client.events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, Error):
                codes.append(event.code)
            elif isinstance(event, Disconnected):
                return codes, True
        return codes, False
    finally:
        client.close()


def _attack(bob: KitUser, chat_server, tmp_path, mode: str, frame: int, lines: list[str],
            expected: str, seed: int = 1) -> None:
    step = _(WRITTEN_IN[expected])
    with Proxy(target=chat_server, tamper=mode, frame=frame, seed=seed) as proxy:
        codes, closed = _victim(proxy.address, tmp_path / "alice_pins", lines)
        reason, said = bob.until_left("alice")
    done = [event.what for event in proxy.events() if isinstance(event, Tampered)]
    assert done, harness.why(_(
        "the proxy never got to tamper ({mode}, frame {frame}): alice's session ended first "
        "(she got {codes}) — {step}").format(
            mode=mode, frame=frame, codes=codes or _("no error"), step=step))
    texts = [message.text for message in said]
    genuine = lines[:1] if mode == "replay" else []
    assert texts == genuine, harness.why((
        _("the proxy did this: {done}; bob then got alice's messages {texts}, expected "
          "{genuine}: the first copy is genuine, the second must be refused ({expected}) "
          "before anyone sees it — {step}")
        if genuine else
        _("the proxy did this: {done}; bob then got alice's messages {texts}, expected "
          "none: that frame must be refused ({expected}) before anyone sees it — {step}")
    ).format(done=done[0], texts=texts, genuine=genuine, expected=expected, step=step))
    assert reason == expected, harness.why(_(
        "the proxy did this: {done}; your server should have refused that frame with "
        "{expected}, answered alice with that error and closed her connection, so bob sees "
        "left{{alice, reason: {expected}}}; bob saw {seen} — {step}").format(
            done=done[0], expected=expected, step=step,
            seen=_("alice leave with {reason!r}").format(reason=reason) if reason else
            _("alice stay (nothing within {timeout:g} s)").format(timeout=WAIT)))
    if mode != "reflect":  # a reflected welcome leaves alice out of step: she cannot read more
        assert expected in codes and closed, harness.why((
            _("the proxy did this: {done}; alice got the errors {codes} and her connection "
              "was closed: she must get error {expected} (sealed), then the server hangs up "
              "— {step}")
            if closed else
            _("the proxy did this: {done}; alice got the errors {codes} and her connection "
              "was not closed: she must get error {expected} (sealed), then the server hangs "
              "up — {step}")
        ).format(done=done[0], codes=codes, expected=expected, step=step))


def test_replayed_frame_refused(chat_server, kit_user, tmp_path):
    """replay: alice's say arrives twice; the copy is refused (replayed), bob sees the say once"""
    _attack(kit_user(chat_server, "bob"), chat_server, tmp_path, "replay", 2, ["pay bob 10 euros"], "replayed")


def test_reordered_frames_refused(chat_server, kit_user, tmp_path):
    """reorder: alice's 2nd say arrives before her 1st; refused (reordered), bob sees neither"""
    _attack(kit_user(chat_server, "bob"), chat_server, tmp_path, "reorder", 2, ["sell", "buy"], "reordered")


def test_reflected_frame_refused(chat_server, kit_user, tmp_path):
    """reflect: your server's welcome to alice is sent back to your server: refused (reflected)"""
    _attack(kit_user(chat_server, "bob"), chat_server, tmp_path, "reflect", 1, [], "reflected")


def test_flipped_bits_refused(chat_server, kit_user, tmp_path):
    """flip: one bit of alice's say flipped (3 seeds: anywhere in the frame): decrypt_failed"""
    bob = kit_user(chat_server, "bob")
    for seed in (1, 2, 3):
        _attack(bob, chat_server, tmp_path, "flip", 2, [f"a line, seed {seed}"],
                "decrypt_failed", seed)


def test_your_client_refuses_a_replay(start_server):
    """your chat_client.py, when the proxy replays a frame of the server's, refuses it (replayed)"""
    server = start_server()
    chat_client = harness.load("chat_client.py")
    with Proxy(target=server, tamper="replay", frame=2, victim="client") as proxy:
        session = chat_client.ChatSession.connect(*proxy.address, "alice")
        try:
            session.say("hello")
            got = []
            code = refusal(lambda: [got.append(session.receive(WAIT)) for _turn in range(2)], STEP)
        finally:
            session.close()
    assert code == "replayed", harness.why(_(
        "the server's message to alice came twice; her ChatSession.receive() gave {got} "
        "and {code}: the second copy must raise ProtocolError replayed "
        "(chat_client.py opens frames with your SecureChannel: open() calls check_nonce()) "
        "— {step}").format(got=got, code=code or _("no error"), step=_(STEP)))

