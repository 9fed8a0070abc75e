"""Who must be warned: areas with population, residents, groups, officers, terminals,
and the segmentation planner that decides who gets what on which channel."""
