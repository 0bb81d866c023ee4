-- The comparison service's privileges (its role comes from V9__comparison_role.sql). Flyway runs this callback after
-- every migrate, that is at every start of the aggregator, whether or not a migration was pending. So the grants
-- follow a role that an administrator created after the migrations ran, and every table a later migration adds is
-- readable at once. The privileges are set from scratch each time, so this file is the one list of what the
-- comparison service may write: a migration that adds a table the comparison service writes adds it below.
DO $$
DECLARE
    -- the tables the comparison service writes: references, frozen from a time range or deleted (CreateReference,
    -- DeleteReference; the aggregator writes the tagged ones), and drift monitors with their transitions (and the
    -- sequence their generations come from)
    writes CONSTANT text[] := ARRAY['reference', 'reference_distribution', 'monitor', 'monitor_transition',
        'monitor_state', 'monitor_evaluation', 'monitor_lease', 'monitor_generation'];
    -- where Flyway keeps the schema
    target CONSTANT text := '${flyway:defaultSchema}';
    comparison_role oid;
    wanted text[];
    r record;
BEGIN
    SELECT oid INTO comparison_role FROM pg_roles WHERE rolname = 'nd_comparison';
    IF comparison_role IS NULL THEN
        RAISE WARNING 'role nd_comparison is missing: no privileges granted. An administrator runs: '
            'CREATE ROLE nd_comparison NOLOGIN; and the aggregator grants them at its next start';
        RETURN;
    END IF;
    -- aggregator replicas starting together would otherwise update the same ACLs at once, which PostgreSQL refuses
    -- ("tuple concurrently updated"); the lock ends with this transaction
    PERFORM pg_advisory_xact_lock(hashtext('nd_comparison privileges'));
    -- where every role may use the schema already (PUBLIC may use schema public) the grant is not needed, and it
    -- would only warn when the schema's owner is not the aggregator (schema public before PostgreSQL 15)
    IF NOT has_schema_privilege('nd_comparison', target, 'USAGE') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO nd_comparison', target);
    END IF;
    -- nor create in it: before PostgreSQL 15 every role (PUBLIC) may create in schema public, and a comparison login
    -- could take the name of the partition the aggregator makes next, or of a later migration's table. Revoked from
    -- PUBLIC too, which only the schema's owner (or a superuser) can do, and who keeps creating as the owner; for
    -- another migrating user the revoke changes nothing, and the warning below says what an administrator runs
    IF has_schema_privilege('nd_comparison', target, 'CREATE') THEN
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, nd_comparison', target);
        IF has_schema_privilege('nd_comparison', target, 'CREATE') THEN
            RAISE WARNING 'role nd_comparison may create objects in schema %: an administrator runs REVOKE CREATE ON '
                'SCHEMA % FROM PUBLIC, nd_comparison; (the aggregator keeps creating as the schema''s owner, or by a '
                'grant of its own)', target, target;
        END IF;
    END IF;
    -- the tables, views and sequences the migrations created, that is those of the migrating user: a table of
    -- another application in the same schema is neither exposed nor touched
    -- partitions are left out: queries name their parent, whose privileges PostgreSQL checks (and the aggregator
    -- makes and drops partitions all the time)
    -- what the role holds is read from the catalog's rows (this statement's snapshot, taken after the lock above), so
    -- a start that finds every privilege in place, which is every start but the first, changes no row
    FOR r IN SELECT c.relname, c.relkind,
                ARRAY(SELECT DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE ''
                        END FROM aclexplode(c.relacl) a WHERE a.grantee = comparison_role ORDER BY 1) AS held
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = target AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT c.relispartition
            AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    LOOP
        -- UPDATE also for SELECT ... FOR UPDATE and INSERT ... ON CONFLICT DO UPDATE, which the reference store uses
        -- a sequence it draws from (a monitor's generation) needs USAGE for nextval
        wanted := CASE WHEN r.relname = ANY (writes) AND r.relkind = 'S' THEN ARRAY['SELECT', 'USAGE']
            WHEN r.relname = ANY (writes) THEN ARRAY['DELETE', 'INSERT', 'SELECT', 'UPDATE']
            ELSE ARRAY['SELECT'] END;
        CONTINUE WHEN r.held = wanted;
        -- a GRANT takes no lock on its table, yet rewrites the table's pg_class row, which attaching the first
        -- partition to a partitioned table rewrites too (relhassubclass): another aggregator making its first
        -- partition would make this GRANT fail with "tuple concurrently updated". The lock waits for such DDL (and
        -- makes it wait), and reads the row as that DDL left it; reads and writes of the table go on
        IF r.relkind IN ('r', 'p') THEN
            EXECUTE format('LOCK TABLE %I.%I IN SHARE UPDATE EXCLUSIVE MODE', target, r.relname);
        END IF;
        -- revoked and granted in one transaction: a running comparison service never finds its privileges missing
        EXECUTE format('REVOKE ALL ON %I.%I FROM nd_comparison', target, r.relname);
        EXECUTE format('GRANT %s ON %I.%I TO nd_comparison', array_to_string(wanted, ', '), target, r.relname);
    END LOOP;
END
$$;
