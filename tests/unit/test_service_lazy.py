"""The service package imports its use cases on first use, so a command loads only what it
calls (a command's start-up)."""

from __future__ import annotations

import subprocess
import sys

import canvas_sync.service as service


def test_every_public_name_resolves_to_its_use_case() -> None:
    from canvas_sync.service import core, pushing, triggers

    assert sorted(service.__all__) == sorted([*service._HOMES, *service._SUBMODULES])
    for name in service.__all__:
        assert getattr(service, name) is not None
    assert service.push is pushing.push and callable(service.push)
    assert service.sync is core.sync and service.status is triggers.status


def test_importing_the_package_or_the_accounts_loads_no_sync_machinery() -> None:
    probe = (
        "import sys, canvas_sync.service as s; a = set(sys.modules); s.accounts; "
        "b = set(sys.modules); print(int('sqlalchemy' in a), int('httpx' in b), "
        "int('canvas_sync.service.core' in b))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0", "0"]


def test_what_a_sync_imports_leaves_out_the_accounts_and_the_request_queue() -> None:
    # canvas_sync.db imports the web app's accounts and the daemon's queue on first use; a
    # sync (service.core) needs neither.
    probe = (
        "import sys, canvas_sync.service.core, canvas_sync.db as db; "
        "a = [m in sys.modules for m in ('canvas_sync.db.accounts', 'canvas_sync.db.requests')]; "
        "db.accounts, db.requests; "
        "b = [m in sys.modules for m in ('canvas_sync.db.accounts', 'canvas_sync.db.requests')]; "
        "print(*map(int, a + b))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0", "1", "1"]
