import re
import uuid
from datetime import UTC, datetime

from boxk8s.resources import meta


def test_new_uid_is_a_random_version_4_uuid() -> None:
    seen = set()
    for _ in range(2000):
        text = meta.new_uid()
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
        seen.add(text)
    assert len(seen) == 2000
    # all four variant digits occur
    assert {u[19] for u in seen} == set("89ab")


def test_now_rfc3339_is_the_current_second() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = meta.now_rfc3339()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before <= parsed <= after
    assert meta.now_rfc3339() >= stamp
