"""The panel's seats, as the runner gives them to a conflict: the neutral panelists built
once from `[[panel]]`, the advocates of the conflict's two workers (`consensus.advocates`),
and the weights the learning store gives each panelist.

A broken `[[panel]]` is one line naming the config, raised before the runner takes any
entry (`neutral`). Never reads what a push carries.
"""

import os

from ..errors import UserError
from ..resources import template
from . import learning


class Panels:
    def __init__(self, central, config):
        self.central, self.config = central, config
        self._neutral = None

    def neutral(self):
        """The neutral seats (built on first use)."""
        from ..panel.factory import build_panel

        if self._neutral is None:
            try:
                self._neutral = build_panel([dict(p) for p in self.config.panel], environ=os.environ,
                                            prompts_dir=template("prompts"), threshold=self.config.threshold,
                                            max_rounds=self.config.max_rounds)
            except ValueError as e:
                raise UserError(f"broken config {self.central.config_path}: {e}") from None
        return self._neutral

    def for_conflict(self, context):
        """The panel for one conflict (a ConflictContext): with `consensus.advocates`, the
        workers on both sides whose `[workers.NAME] panelist` is set (A's first), then the
        neutral seats; a neutral seat named like an advocate does not sit as neutral on
        its own work."""
        neutral = self.neutral()
        config = self.config
        if not config.advocates or context.ours_worker == context.theirs_worker:
            return neutral
        sides = {side: (worker, config.worker_panelists[worker])
                 for side, worker in (("A", context.ours_worker), ("B", context.theirs_worker))
                 if worker in config.worker_panelists}
        if not sides:
            return neutral
        from ..panel.factory import build_advocates

        try:
            advocates = build_advocates([dict(p) for p in config.panel], sides, environ=os.environ,
                                        prompts_dir=template("prompts"), threshold=config.threshold,
                                        max_rounds=config.max_rounds)
        except ValueError as e:
            raise UserError(f"broken config {self.central.config_path}: {e}") from None
        names = {a.name for a in advocates}
        return advocates + [p for p in neutral if p.name not in names]

    def weights(self):
        """{panelist name: weight}, from the config and how often each agreed with humans."""
        return learning.weights(self.central, self.config)
