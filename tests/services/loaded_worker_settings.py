"""Worker settings for the fault runs under CPU load: leases that lapse.

A 1 s lease is shorter than the fake provider's slow calls (2.5 s), so the other sweepers
see leases run out while a worker is still sending: exactly-once must hold anyway.
"""

from tests.services.worker_settings import *  # noqa: F403

OMNICHANNEL = {
    **OMNICHANNEL,  # noqa: F405
    "DISPATCH_LEASE_SECONDS": 1,
    "DISPATCH_IN_FLIGHT_GRACE_SECONDS": 3,
}
