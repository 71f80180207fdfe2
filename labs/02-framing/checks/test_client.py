"""Step 5: the client sends messages as frames and reads one answer per message.

The checks' server answers through the inspector's proxy, which cuts its
answers into single bytes before your client reads them.
"""

from conftest import reader_problem

from socketlab.labs import harness
from socketlab.labs.harness import _


def _shout(number: int, body: bytes) -> bytes:
    return f"{number}: ".encode() + body.upper()


def test_answers_split_byte_by_byte(client_module, reference_server):
    """ask_all() sends each text as a frame and returns every answer, even sent byte by byte"""
    texts = ["hello", "wörld", "three messages at once"]
    with reference_server(_shout, chunk=1) as (address, received), \
            client_module.connect(*address) as sock:
        reader = client_module.FrameReader(sock)
        answers = harness.call_with_timeout(client_module.ask_all, sock, reader, texts,
                                            timeout=3)
    sent = [text.encode("utf-8") for text in texts]
    assert received == sent, _(
        "the server received the frames {received!r}, not {sent!r}: send each text as "
        "encode_frame(text.encode('utf-8')) — README step 5").format(received=received, sent=sent)
    expected = [_shout(n, body).decode("utf-8") for n, body in enumerate(sent, start=1)]
    assert answers == expected or not (problem := reader_problem()), problem
    assert answers == expected, _(
        "the answers came one byte per recv() (the proxy cut them), and ask_all() returned "
        "{answers!r}, not {expected!r}: read each answer with reader.read_frame(), never "
        "with a bare recv() — README step 5").format(answers=answers, expected=expected)


def test_server_closes_early(client_module, reference_server):
    """ask_all() raises ConnectionError when the server closes before answering everything"""
    def answer_once(number: int, body: bytes) -> bytes | None:
        return _shout(number, body) if number == 1 else None

    with reference_server(answer_once) as (address, _received), \
            client_module.connect(*address) as sock:
        reader = client_module.FrameReader(sock)
        try:
            answers = harness.call_with_timeout(client_module.ask_all, sock, reader,
                                                ["one", "two"], timeout=2)
        except ConnectionError:
            return
        except NotImplementedError:
            raise
        except Exception as error:  # noqa: BLE001 - any other error is the student's, shown with the hint
            where = harness.student_location(error.__traceback__)
            raise AssertionError(
                f"{harness.describe(error)}" + (f" ({where})" if where else "")
                + _(": the server answered one of two messages and closed, so the second "
                    "read_frame() returned None — raise ConnectionError then — README step 5")
            ) from None
    raise AssertionError(_(
        "the server answered one of two messages and closed, and ask_all() returned "
        "{answers!r} instead of raising ConnectionError: read_frame() returning None means "
        "the server is gone — README step 5").format(answers=answers))
