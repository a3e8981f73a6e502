"""Telling the outside world what happened: webhooks and the published state ref.

The journal is the single source of events. Hooks only append to it (a push
must stay fast, so no HTTP and no dulwich there); the runner calls `flush` after
every step, which delivers the events not yet delivered (a cursor in
`<state>/events.cursor`) and republishes `refs/mergecoord/state` (deferred while a
clean merge is followed by more entries in line, see Followups.publish_later).
"""

from ...state import journal
from ...state.files import atomic_write

NOTIFIED = {"queued", "merged", "escalated", "decided", "failed", "rejected", "reminder"}


def pending(central):
    """Journal events after the cursor, and the new cursor value. The cursor is the byte
    offset in the journal up to which events were delivered (`offset:N`), so a flush
    reads only what is new; a cursor that counts events (written by earlier versions)
    is converted once."""
    path = central.path("events.cursor")
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if text.startswith("offset:") and text[7:].isdigit():
        new, offset = journal.events_since(central, int(text[7:]))
        return new, f"offset:{offset}"
    count = int(text) if text.isdigit() else 0
    new, offset = journal.events_since(central, 0)
    return new[count:], f"offset:{offset}"


def flush(central, config, publish_state=True):
    """Deliver the new events and republish the state ref. With `publish_state` false the
    caller publishes later (the runner, once the entries waiting in line are merged):
    returns how many events were new either way."""
    from . import publish, webhook

    with central.lock:
        new, cursor = pending(central)
        if not new:
            return 0
        atomic_write(central.path("events.cursor"), cursor)
    if publish_state:
        publish.publish(central, config)
    webhook.deliver(central, config, [e for e in new if e["event"] in NOTIFIED])
    return len(new)
