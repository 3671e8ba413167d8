"""`leadsync dead list|show|replay|purge`: the dead-letter store from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from worker.policy import DeadLetters

EXIT_USAGE = 2


def add_dead_commands(commands: Any) -> None:
    """Register `dead` and its subcommands on the top-level parser."""
    dead = commands.add_parser("dead", help="the dead-letter store")
    actions = dead.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every dead letter, newest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="one dead letter in full (JSON)")
    show.add_argument("job_id")
    show.set_defaults(handler=cmd_show)
    for name, handler, text in (
        ("replay", cmd_replay, "enqueue again as new jobs that keep the lineage"),
        ("purge", cmd_purge, "delete dead letters (never touches live jobs)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("job_ids", nargs="*", metavar="ID")
        action.add_argument("--all", action="store_true")
        action.set_defaults(handler=handler)


def _store() -> tuple[DeadLetters, Any]:
    from worker.producer import connect

    connection = connect()
    return DeadLetters(connection.redis, connection.settings), connection


def _ids_or_all(options: argparse.Namespace) -> bool:
    if bool(options.job_ids) == bool(options.all):
        print("leadsync dead: give job ids or --all (not both)", file=sys.stderr)
        return False
    return True


def cmd_list(options: argparse.Namespace) -> int:
    """Print every dead letter (a table, or a JSON array with --json)."""
    letters = _store()[0].list()
    if options.json:
        print(json.dumps(letters))
        return 0
    for letter in letters:
        last = (letter["errors"] or [{}])[-1]
        died = datetime.fromtimestamp(letter["dead_at"], UTC).isoformat(timespec="seconds")
        print(
            f"{letter['job_id']}  {died}  attempts={letter['attempts']}  "
            f"code={last.get('code', '-')}  {letter['reason']}"
        )
    return 0


def cmd_show(options: argparse.Namespace) -> int:
    """Print one dead letter as JSON; exit 1 when there is none."""
    letter = _store()[0].show(options.job_id)
    if letter is None:
        print(f"leadsync dead: no dead letter {options.job_id}", file=sys.stderr)
        return 1
    print(json.dumps(letter, indent=2, ensure_ascii=False))
    return 0


def cmd_replay(options: argparse.Namespace) -> int:
    """Replay dead letters; prints `OLD_ID NEW_ID` per replayed job."""
    if not _ids_or_all(options):
        return EXIT_USAGE
    store, connection = _store()
    if options.all:
        replayed = store.replay_all(connection.delivery)
    else:
        replayed = {}
        for job_id in options.job_ids:
            new_id = store.replay(job_id, connection.delivery)
            if new_id is None:
                print(f"leadsync dead: no dead letter {job_id}", file=sys.stderr)
                return 1
            replayed[job_id] = new_id
    for old_id, new_id in replayed.items():
        print(old_id, new_id)
    return 0


def cmd_purge(options: argparse.Namespace) -> int:
    """Delete dead letters; prints how many."""
    if not _ids_or_all(options):
        return EXIT_USAGE
    store = _store()[0]
    count = store.purge_all() if options.all else store.purge(options.job_ids)
    print(f"purged {count}")
    return 0
