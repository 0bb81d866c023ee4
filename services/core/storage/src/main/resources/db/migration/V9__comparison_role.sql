-- The comparison service's own role: it reads every table and writes only the tables it owns, so that a flaw in the
-- query service cannot rewrite the distributions, offsets or observations the aggregator keeps. nd_comparison is a
-- group role (NOLOGIN); the service connects as a login that is a member of it:
--     CREATE ROLE <user> LOGIN PASSWORD '...' IN ROLE nd_comparison;
-- Roles belong to the whole PostgreSQL cluster, not to this database, so only a superuser or a user with CREATEROLE
-- may create one. Where the migrating user has neither, this migration still succeeds (an upgrade must not stop
-- here) and warns with the statement an administrator has to run. The role's privileges are not granted here but in
-- afterMigrate.sql, which Flyway runs after every migrate: they follow once the role exists, at the aggregator's
-- next start, and they stay right as later migrations add tables.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'nd_comparison') THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        BEGIN
            CREATE ROLE nd_comparison NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- created meanwhile by the migration of another database in this cluster
            NULL;
        END;
    ELSE
        RAISE WARNING 'role nd_comparison is missing and % may not create it. An administrator runs: '
            'CREATE ROLE nd_comparison NOLOGIN; and the aggregator grants it its privileges at its next start',
            current_user;
    END IF;
END
$$;
