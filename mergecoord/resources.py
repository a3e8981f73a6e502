"""Where the project's own files are: templates/ and hooks/ beside the package."""

from pathlib import Path

from .errors import UserError

ROOT = Path(__file__).resolve().parent.parent


def resource(*parts):
    path = ROOT.joinpath(*parts)
    if not path.exists():
        raise UserError(f"{path} is missing; reinstall mergecoord with ./install.sh from its checkout")
    return path


def template(*parts):
    return resource("templates", *parts)


def hook_template(name):
    return resource("hooks", name)
