"""One listener per home (pipelines.live.claim): a second claim is refused with the holder named,
and a holder that was killed leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.live.claim import ListenerTaken, claim_listening

ROOT = Path(__file__).resolve().parents[3]
HOLD = (
    "import sys, time; from pathlib import Path; "
    "from pipelines.live.claim import claim_listening; "
    "held = claim_listening(Path(sys.argv[1])); print('held', flush=True); time.sleep(120)"
)


def test_one_claim_per_home_and_none_left_by_a_killed_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ListenerTaken, match=rf"^PID {holder.pid} \(.*CURVEHOUSE_MQTT_LISTEN=0"):
            claim_listening(tmp_path)
    finally:
        holder.kill()  # no clean release: the kernel lets go of the lock with the process
        holder.wait()
        holder.stdout.close()
    claim = claim_listening(tmp_path)
    with pytest.raises(ListenerTaken, match=rf"^PID {os.getpid()} "):
        claim_listening(tmp_path)  # a second claim in the same process is refused too
    claim.release()
    claim.release()  # twice is harmless (a failed start releases, then stop does)
    claim_listening(tmp_path).release()


def test_where_no_lock_can_be_taken_it_warns_and_listens_unguarded(tmp_path, caplog):
    """The guard must not be what stops ingest: a home where the lock file cannot be made (here
    its place is a file) gives a claim that guards nothing, and says so."""
    home = tmp_path / "home"
    home.write_text("not a directory")
    with caplog.at_level("WARNING", logger="pipelines.live.claim"):
        claim = claim_listening(home)
    claim.release()
    assert "a second listener of this home would not be refused" in caplog.text
