"""Getting messages out: from deliveries rows to adapters and back to recorded results."""
