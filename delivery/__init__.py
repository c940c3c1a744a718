"""Everything that sends data out: the transactional outbox and its relay, the live feed, signed callbacks."""
