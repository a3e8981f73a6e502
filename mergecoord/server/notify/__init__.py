"""Telling the outside world what happened: the journal's events as webhooks, reminders
about decisions left pending, and the state published as `refs/mergecoord/state`."""
