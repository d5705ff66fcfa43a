"""The event hash: the fast canonical encoder writes exactly the bytes json.dumps would."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from counterfeits.audit import canonical_event

ALPHABET = 'aZ"\\\n\t\x00\x1f\x7fé€😀</script>\u2028 '


@pytest.mark.parametrize("seed", range(5))
def test_canonical_event_bytes_match_sorted_compact_json(seed):
    rnd = random.Random(seed)
    for i in range(2000):
        texts = ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 12))) for _ in range(7)]
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=rnd.randint(0, 10**12))
        content = {
            "case": i,
            "seq": i % 7 + 1,
            "transition": texts[0],
            "from": texts[1],
            "to": texts[2],
            "actor": texts[3],
            "role": texts[4],
            "reason": texts[5],
            "at": at.isoformat(timespec="microseconds"),
            "prev": texts[6],
        }
        expected = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

        got = canonical_event(i, i % 7 + 1, *texts[:6], at, texts[6])

        assert got == expected.encode("utf-8")
