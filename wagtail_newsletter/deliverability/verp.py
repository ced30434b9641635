"""Which delivery a returned message is about, from the VERP token it carries back (no database access)."""

from ..send.mime import read_verp
from ..tokens import InvalidToken


def verp_delivery_id(verdict):
    """The delivery id signed in the first of ``verdict.verp_addresses`` whose token verifies, or None (a forged
    or foreign address never names a delivery)."""
    for address in verdict.verp_addresses:
        try:
            return read_verp(address)
        except InvalidToken:
            continue
    return None
