-- Stand-in migration file: the runtime tier only checks that the migration process can read it.
SELECT 1;
