"""Settings, database, problems, pagination, ids, time: the plumbing every domain uses."""
