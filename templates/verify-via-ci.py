#!/usr/bin/env python3
"""A `[verify] command` that hands the candidate to the CI you already run, and waits.

mergecoord runs it in a checkout of the candidate merge with the candidate's identity in
the environment (MERGECOORD_MERGE_ID, _BRANCH, _TREE, _BASE, _COMMIT). It

  1. POSTs {"merge_id", "branch", "tree", "base", "commit"} as JSON to $CI_URL;
  2. if the CI answers with an "upload_url", PUTs the checkout there as a .tar.gz (the
     candidate commit is not on any ref the CI could fetch);
  3. polls the "status_url" it answered with until its "state" is "pass" or "fail",
     printing the CI's "log_url";
  4. exits 0 on pass, 1 on fail, 2 when the CI cannot be reached or does not decide
     within $CI_TIMEOUT seconds.

Settings (name them in `verify.env`): CI_URL (required), CI_TOKEN (optional: sent as
`Authorization: Bearer`, never printed), CI_TIMEOUT (seconds, default 1800: keep it
below `verify.timeout`), CI_POLL (seconds between polls, default 5).

Python 3 standard library only. It reads the checkout as data and never runs anything in
it; the branch name is sent as a JSON value.
"""

import io
import json
import os
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

IDENTITY = {"merge_id": "MERGECOORD_MERGE_ID", "branch": "MERGECOORD_BRANCH", "tree": "MERGECOORD_TREE",
            "base": "MERGECOORD_BASE", "commit": "MERGECOORD_COMMIT"}


def request(method, url, body=None, content_type="application/json"):
    """The CI's JSON answer to one request."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type
    if os.environ.get("CI_TOKEN"):
        headers["Authorization"] = "Bearer " + os.environ["CI_TOKEN"]
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as answer:
        text = answer.read().decode("utf-8", "replace")
    data = json.loads(text) if text.strip() else {}
    return data if isinstance(data, dict) else {}


def checkout_archive():
    """The working directory (the candidate's checkout) as a .tar.gz, in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(os.listdir(".")):
            tar.add(name, recursive=True)
    return buffer.getvalue()


def main():
    ci_url = os.environ.get("CI_URL", "")
    if not ci_url:
        print("verify-via-ci: CI_URL is not set (name it in [verify] env)")
        return 2
    timeout = float(os.environ.get("CI_TIMEOUT", "1800"))
    poll = float(os.environ.get("CI_POLL", "5"))
    identity = {key: os.environ.get(name, "") for key, name in IDENTITY.items()}
    deadline = time.monotonic() + timeout
    try:
        job = request("POST", ci_url, json.dumps(identity).encode())
        if job.get("upload_url"):
            request("PUT", urllib.parse.urljoin(ci_url, job["upload_url"]), checkout_archive(),
                    content_type="application/gzip")
        status_url = urllib.parse.urljoin(ci_url, job.get("status_url") or "")
        if not job.get("status_url"):
            print("verify-via-ci: the CI answered without a status_url")
            return 2
        if job.get("log_url"):
            print(f"verify-via-ci: {identity['merge_id']} submitted; log: {job['log_url']}")
        while True:
            state = request("GET", status_url)
            verdict = state.get("state")
            if verdict in ("pass", "fail"):
                print(f"verify-via-ci: {identity['merge_id']}: {verdict}; log: {state.get('log_url') or job.get('log_url', '')}")
                return 0 if verdict == "pass" else 1
            if time.monotonic() + poll > deadline:
                print(f"verify-via-ci: no verdict within {timeout:g}s (last state: {verdict}); status: {status_url}")
                return 2
            time.sleep(poll)
    except (OSError, ValueError, urllib.error.URLError) as exc:       # HTTPError is a URLError
        print(f"verify-via-ci: cannot reach the CI at {ci_url}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
