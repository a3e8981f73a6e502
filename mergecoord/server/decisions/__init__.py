"""Human decisions: escalating what the panel could not settle (`escalation`), the
options put to the human (`options`), checking and recording an answer (`answer`,
shared with the push hooks), the losing worker's refactor tasks (`feedback`), a
decision's life as its branch moves on (`lifecycle`), and `git merge-decide` on the
server itself (`local`).

The push hooks import `answer` on every push that carries one: this package's
__init__ stays free of imports.
"""
