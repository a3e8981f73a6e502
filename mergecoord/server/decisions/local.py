"""Decisions as `git merge-decide` sees them in the bare repository itself: the state
is read and written directly, and an answer is queued for the runner at once."""

from ...central import server_user
from ...errors import UserError
from ...state import answers, decisions
from . import answer


class LocalDecisions:
    where = "local"

    def __init__(self, central, config):
        self.central, self.config = central, config
        self.on_behalf = None     # (name, owner) with --as

    def all(self):
        return decisions.all_decisions(self.central)

    def load(self, decision_id):
        return decisions.load(self.central, decision_id)

    def git_dir_for(self, doc):
        """The git dir holding both commits of `doc`, for its diff: this repository."""
        return self.central.git_dir

    def check(self, doc, choice, files, rationale):
        self.central.require_writer()
        return answers.normalise(doc, choice, files)

    def speak_for(self, name):
        """Answer as `name` (`git merge-decide --as NAME`): only the repository's owner may,
        e.g. a decider whose answer came by mail; the answer records who typed it."""
        import os

        uid, owner = self.central.owner()
        if os.geteuid() != uid:
            raise UserError(f"--as is for the repository's owner ({owner}), who answers for someone else "
                            "on the server; answer as yourself without it")
        self.on_behalf = (name, owner)

    def submit(self, decision_id, choice, files, rationale):
        """Record the answer, publish it, and start a runner to apply it. Returns a line to show."""
        from ..notify import events
        from ..hook import hand_over

        user, entered_by = self.on_behalf or (server_user(), "")
        doc, entry = answer.submit(self.central, self.config, decision_id,
                                   {"choice": choice, "files": files, "rationale": rationale},
                                   user, entered_by=f"{entered_by} (--as)" if entered_by else "")
        events.flush(self.central, self.config)
        if hand_over(self.central, self.config):
            later = "the runner applies it now"
        else:
            later = "'mergecoord start' applies it"
        return f"recorded {doc['answer']['choice']} for {decision_id}; queued as {entry.id}, {later}"
