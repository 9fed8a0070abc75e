"""Settings and the data files (hazard catalog, policy, groups, divisions, CAP schema)."""
