"""Webhook notifications: the journal's events worth telling (queued, merged, escalated,
decided, failed, rejected, reminder) POSTed as JSON to `[notify] webhook`.

A dead or slow webhook never blocks a merge: `deliver` only hands the events to one
daemon thread that posts them, each with `[notify] timeout`; the runner waits for
it at exit for a bounded time (`drain`). Delivery is at most once: what fails is
logged to `<state>/logs/notify.log`, and the log never holds the webhook's
credentials, query string or the path after its first segment (where services
such as Slack put their token). After three failures in a row the webhook is
given a rest of a minute, during which events are dropped (and counted in the log)
rather than making the backlog grow.

`notify.format` shapes each request (formats.py): this JSON (default), or a chat
message for Slack, Discord or ntfy.

Reminders about decisions left pending are journal events like any other
(`reminders.py`), delivered here.

The JSON body of every event (a flat object):
  event      queued | merged | escalated | decided | failed | rejected | reminder
  merge_id   "m-0007" (the merge the event is about)
  branch     "sprint/x";  worker  "Apollo";  repo  the central repository's directory name
  time       when it happened, ISO 8601 UTC ("2026-11-24T19:55:16Z")
and then the event's own fields as journaled, e.g. sha (queued), commit, resolved_by,
rounds, confidence (merged), conflicts, decision, detail (escalated), choice (decided),
error (failed), pending_since, pending_hours (reminder).
"""

import queue
import threading
import time
from urllib.parse import urlsplit


USER_AGENT = "mergecoord-webhook/1"
MAX_BACKLOG = 1000          # events waiting in this process; beyond that they are dropped
FAILURES_BEFORE_REST = 3
REST_SECONDS = 60.0


def deliver(central, config, events):
    """Queue `events` (journal events) for the webhook and return how many were queued.
    Returns at once: posting happens on the courier thread."""
    if not config.webhook or not events:
        return 0
    records = None
    payloads = []
    for event in events:
        if not (event.get("branch") and event.get("worker")) and records is None:
            from ...state import journal

            records = journal.merges(central)
        payloads.append(payload(central, event, records or {}))
    return COURIER.post(central, config.webhook, config.notify_timeout, payloads, config.notify_format)


def payload(central, event, records):
    """The JSON document of one journal event (see the module docstring)."""
    merge_id = event.get("id") or event.get("merge") or ""     # a reminder names its merge in "merge"
    record = records.get(merge_id, {})
    body = {k: v for k, v in event.items() if k not in ("id", "time", "event", "merge")}
    body.update({
        "event": event["event"],
        "merge_id": merge_id,
        "branch": event.get("branch") or record.get("branch", ""),
        "worker": event.get("worker") or record.get("worker", ""),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event.get("time") or time.time())),
        "repo": central.git_dir.name,
    })
    return body


def drain(central, config):
    """Wait (bounded) for the events this process queued; log those left undelivered.
    Called when the runner exits, so that a short-lived `start --once` still notifies."""
    if not config.webhook:
        return 0
    bound = max(1.0, min(2.0 * config.notify_timeout, 15.0))
    left = COURIER.wait(bound)
    if left:
        log(central, f"{left} event(s) not delivered to {redact(config.webhook)}: "
                     f"the runner exited after waiting {bound:g}s")
    return left


def redact(url):
    """The webhook URL as it may appear in a log: scheme, host, port and the first
    path segment; credentials, the rest of the path, the query and fragment hidden."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid webhook URL>"
    segments = [s for s in parts.path.split("/") if s]
    path = ("/" + segments[0] if segments else "") + ("/…" if len(segments) > 1 else "")
    return (f"{parts.scheme}://{'…@' if parts.username or parts.password else ''}{host}{port}{path}"
            + ("?…" if parts.query else ""))


def log(central, line):
    try:
        path = central.path("logs", "notify.log")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    except OSError:
        pass          # notifications are best effort; never fail a merge over a log line


class Courier:
    """One daemon thread per process that posts queued events in order."""

    def __init__(self):
        self.backlog = queue.Queue(maxsize=MAX_BACKLOG)
        self.thread = None
        self.start_lock = threading.Lock()
        self.failures = 0
        self.rest_until = 0.0

    def post(self, central, url, timeout, payloads, fmt="json"):
        queued = 0
        for body in payloads:
            try:
                self.backlog.put_nowait((central, url, timeout, body, fmt))
                queued += 1
            except queue.Full:
                log(central, f"dropped {body['event']} {body['merge_id']}: {MAX_BACKLOG} events already "
                             f"wait for {redact(url)}")
        with self.start_lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="mergecoord-webhook", daemon=True)
                self.thread.start()
        return queued

    def wait(self, bound):
        """Block until the backlog is sent or `bound` seconds passed; how many are left."""
        deadline = time.monotonic() + bound
        while self.backlog.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.backlog.unfinished_tasks

    def run(self):
        session = None
        while True:
            central, url, timeout, body, fmt = self.backlog.get()
            try:
                if time.monotonic() < self.rest_until:
                    log(central, f"dropped {body['event']} {body['merge_id']}: {redact(url)} failed "
                                 f"{FAILURES_BEFORE_REST} times in a row; resting it until it has had a minute")
                    continue
                if session is None:
                    import requests    # only a process that notifies pays for importing it

                    session = requests.Session()
                problem = send(session, url, timeout, body, fmt)
                if problem:
                    self.failures += 1
                    log(central, f"{body['event']} {body['merge_id']} not delivered to {redact(url)}: {problem}")
                    if self.failures >= FAILURES_BEFORE_REST:
                        self.rest_until = time.monotonic() + REST_SECONDS
                else:
                    self.failures, self.rest_until = 0, 0.0
            except Exception as e:  # the courier must outlive any single event
                log(central, f"{body.get('event')} {body.get('merge_id')} not delivered: {type(e).__name__}")
            finally:
                self.backlog.task_done()


def send(session, url, timeout, body, fmt="json"):
    """POST one event in `fmt` (notify.format); '' on success, else why not (without the
    URL: it may hold a token)."""
    import requests

    from .formats import request

    data, headers = request(body, fmt)
    try:
        response = session.post(url, data=data, timeout=timeout, allow_redirects=False,
                                headers={**headers, "User-Agent": USER_AGENT, "X-Mergecoord-Event": body["event"]})
        response.close()
    except requests.Timeout:
        return f"no answer within {timeout:g}s"
    except requests.ConnectionError:
        return "could not connect"
    except requests.RequestException as e:
        return f"request failed ({type(e).__name__})"
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}"
    return ""


COURIER = Courier()
