"""What a webhook request looks like in each `notify.format`: mergecoord's own JSON
event, or a chat message for Slack (incoming webhooks), Discord or ntfy.

Branch names, worker names and error details come from pushes, so they are hostile:
they pass through `printable()` and then each service's own escaping, and can never
mention a channel (Slack's `<!channel>`, Discord's `@everyone`) or add a header.
"""

import json

from ...untrusted import printable

DISCORD_LIMIT = 2000          # characters in a message's content


def request(body, fmt):
    """(bytes to POST, headers) for the event `body` (webhook.payload) in format `fmt` (one of
    config.NOTIFY_FORMATS)."""
    if fmt == "slack":
        return _json({"text": slack_escape(summary(body))})
    if fmt == "discord":
        return _json({"content": summary(body)[:DISCORD_LIMIT], "allowed_mentions": {"parse": []}})
    if fmt == "ntfy":
        # ntfy takes the message as the body and a title in a header, which must be ASCII:
        # ids and event names are, the rest stays in the body.
        title = f"mergecoord {body.get('merge_id') or body.get('decision') or ''} {body['event']}"
        return summary(body).encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8",
                                                "Title": title.encode("ascii", "replace").decode(),
                                                "Tags": TAGS.get(body["event"], "")}
    return _json(body)


def _json(value):
    return json.dumps(value, sort_keys=True).encode("utf-8"), {"Content-Type": "application/json"}


TAGS = {"merged": "white_check_mark", "escalated": "warning", "failed": "x", "rejected": "leftwards_arrow_with_hook",
        "reminder": "hourglass", "decided": "ballot_box_with_check", "queued": "inbox_tray"}


def summary(body):
    """One line saying what happened, for people reading a chat channel."""
    event = body["event"]
    who = f"{shown(body.get('branch'))} ({shown(body.get('worker')) or '?'})"
    merge = body.get("merge_id") or ""
    repo = shown(body.get("repo"))
    if event == "queued":
        text = f"queued {who} as {merge}"
    elif event == "merged":
        how = body.get("resolved_by") or "clean"
        if body.get("rounds"):
            how += f", {body['rounds']} round(s), confidence {float(body.get('confidence') or 0):.0%}"
        text = f"merged {who} as {merge} ({how}) {shown(body.get('commit'))[:10]}"
    elif event == "escalated":
        files = ", ".join(shown(f) for f in body.get("conflicts") or [])
        text = f"{merge} {who} needs a human: decision {shown(body.get('decision'))}" + (f" ({files})" if files else "")
    elif event == "decided":
        text = f"decision {shown(body.get('decision'))} answered {shown(body.get('choice'))} for {merge} {who}"
    elif event == "rejected":
        text = f"{merge} {who} was sent back to its worker (decision {shown(body.get('decision'))})"
    elif event == "failed":
        text = f"{merge} {who} failed: {shown(body.get('error') or body.get('detail'))}"
    elif event == "reminder":
        text = (f"decision {shown(body.get('decision'))} for {merge} {who} has waited "
                f"{body.get('pending_hours')} h for a human")
    else:
        text = f"{event} {merge} {who}"
    return f"[{repo}] {text}"[:1000]


def shown(value):
    return printable(value if isinstance(value, str) else "" if value is None else str(value))


def slack_escape(text):
    """Slack's three control characters: nothing becomes a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
