from tests.history_helpers import archive, run_sync, insert_terminal
from tests.test_security_hostile import SCRIPT, IMG, HYPERLINK
from dashboard.history.models import ArchivedAction
import pytest

@pytest.mark.parametrize("extra", [{}, {"log_id": SCRIPT}, {"result": {"message": IMG}}, {"user": {"email": HYPERLINK}}])
def test_dbg(archive, extra):
    insert_terminal(archive, "aa_0c00000000000bad04", type_="CUSTOMERS.METADATA_KEY_PURGE", request_id="w-1", **extra)
    p = run_sync()
    print(p, ArchivedAction.objects.filter(id="aa_0c00000000000bad04").values())
    assert ArchivedAction.objects.filter(id="aa_0c00000000000bad04").exists()
