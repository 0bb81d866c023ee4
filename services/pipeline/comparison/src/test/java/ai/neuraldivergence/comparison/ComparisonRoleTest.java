package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.testkit.Sql;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Least privilege against the real PostgreSQL: the connection the service under test uses is a login of the role
 * nd_comparison, which reads every table of the schema and writes only references. Every statement refused here is
 * first shown to succeed as the schema's owner, so that the only thing it lacks is the privilege.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class ComparisonRoleTest {

    /** The tables the comparison service writes (afterMigrate.sql); every other table it only reads. */
    private static final Set<String> WRITTEN = Set.of("reference", "reference_distribution", "monitor",
            "monitor_transition", "monitor_state", "monitor_evaluation", "monitor_lease");

    /** PostgreSQL's insufficient_privilege. */
    private static final String DENIED = "42501";

    @Inject
    AgroalDataSource service;

    @Inject
    @SchemaOwner
    DataSource owner;

    @Test
    void theServiceConnectsAsAMemberOfTheComparisonRole() throws SQLException {
        try (Connection c = service.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT current_user, pg_has_role(current_user, ?, 'USAGE'), rolsuper, rolcreaterole, rolcreatedb "
                        + "FROM pg_roles WHERE rolname = current_user")) {
            ps.setString(1, TestInfrastructure.COMPARISON_ROLE);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                assertEquals(TestInfrastructure.COMPARISON_DB_USER, rs.getString(1));
                assertTrue(rs.getBoolean(2), "holds the privileges of nd_comparison");
                assertFalse(rs.getBoolean(3) || rs.getBoolean(4) || rs.getBoolean(5), "no administrative attribute");
            }
        }
    }

    @Test
    void readsEveryTableAndWritesNoneButReferencesAndMonitors() throws SQLException {
        List<String> tables = tables();
        assertTrue(tables.containsAll(List.of("tap_window", "reference", "consumer_offset", "recent_observation",
                "monitor", "monitor_transition")),
                tables.toString());
        for (String table : tables) {
            assertNull(attempt(service, "SELECT count(*) FROM " + table), "reads " + table);
            // a statement that touches no row is still checked for its privilege; the truncation is rolled back
            for (String write : List.of("INSERT INTO " + table + " SELECT * FROM " + table + " WHERE false",
                    "DELETE FROM " + table + " WHERE false", "TRUNCATE " + table + " CASCADE")) {
                assertNull(attempt(owner, write), "the owner may: " + write);
                String expected = WRITTEN.contains(table) && !write.startsWith("TRUNCATE") ? null : DENIED;
                assertEquals(expected, attempt(service, write), write);
            }
        }
    }

    @Test
    void anInsertIntoTapWindowIsRefused() throws SQLException {
        TapDescriptor tap = new TapDescriptor("role", "v1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        try (Connection c = owner.getConnection()) {
            new CatalogStore(owner).register(c, tap);
        }
        String insert = "INSERT INTO tap_window (model_id, model_version, tap, granularity, slice, window_start, "
                + "observation_count, distributions) VALUES ('role', 'v1', 'dense', 'minute', 'all', now(), 0, "
                + "'\\x00'::bytea)";
        // the aggregator makes partitions ahead; here the owner makes the one now() falls in
        new ai.neuraldivergence.storage.TapWindowStore(owner).partitions().ensure(java.time.Instant.now().minusSeconds(
                60), java.time.Instant.now().plusSeconds(60));
        assertNull(attempt(owner, insert), "a valid row: the owner may insert it");
        assertEquals(DENIED, attempt(service, insert));
        assertEquals(DENIED, attempt(service, "UPDATE tap_window SET observation_count = 0"));
        // nor the deltas that become windows, nor their folded marks
        assertEquals(DENIED, attempt(service, "INSERT INTO window_delta (model_id, model_version, tap, "
                + "window_start, observation_count, slices, slice_counts, activations) VALUES ('role', 'v1', 'dense', "
                + "now(), 1, '{all}', '{1}', '\\x00'::bytea)"));
        assertEquals(DENIED, attempt(service, "UPDATE window_delta SET folded = true"));
        assertEquals(DENIED, attempt(service, "UPDATE exemplar_delta SET folded = true"));
    }

    /** What CreateReference and DeleteReference do, through the same store, on the service's connection. */
    @Test
    void createsNothingInTheSchema() throws SQLException {
        // on PostgreSQL 14 and before every role may create in schema public: a comparison login could then take the
        // name of the partition the aggregator makes next ("CREATE TABLE IF NOT EXISTS" finds it, the attach fails
        // on a table the aggregator does not own) and stop ingestion for that period
        String partition = "CREATE TABLE tap_window_p20991231_0000 (a int)";
        assertEquals(DENIED, attempt(service, partition));
        assertNull(attempt(owner, "CREATE TABLE role_probe_owned (a int)"), "the owner may (rolled back)");
        assertEquals(DENIED, attempt(service, "CREATE VIEW role_probe AS SELECT 1"));
    }

    @Test
    void writesAndDeletesReferences() throws SQLException {
        TapDescriptor tap = new TapDescriptor("role-ref", "v1", "dense", 0, new int[] {2}, 2, Reduction.NONE);
        try (Connection c = owner.getConnection()) {
            new CatalogStore(owner).register(c, tap);
        }
        TapDistribution d = new TapDistribution(2, 200);
        d.add(new float[] {1, 2}, 0);
        ReferenceStore references = new ReferenceStore(service);
        Instant from = Instant.parse("2026-11-26T08:00:00Z");
        assertTrue(references.createFrozen("role-ref", "v1", "calm", from, from.plusSeconds(60), Slice.ALL,
                Map.of("dense", Map.of(Slice.ALL, d))));
        assertEquals(1, references.read("role-ref", "v1", "calm", "dense", Slice.ALL).orElseThrow()
                .observationCount());
        assertTrue(references.delete("role-ref", "calm", null, deleted -> { }));
        assertTrue(references.find("role-ref", "calm").isEmpty());
    }

    private List<String> tables() throws SQLException {
        List<String> tables = new ArrayList<>();
        try (Connection c = service.getConnection(); PreparedStatement ps = c.prepareStatement(
                // partitions are read through their parent (PostgreSQL checks the privileges of the table a query
                // names); the aggregator makes them at run time with no grant of their own, so the service cannot
                // read one directly, which it never needs
                "SELECT quote_ident(t.tablename) FROM pg_tables t JOIN pg_class r ON r.oid = (quote_ident("
                        + "t.schemaname) || '.' || quote_ident(t.tablename))::regclass WHERE t.schemaname = "
                        + "current_schema() AND NOT r.relispartition ORDER BY 1");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
        }
        return tables;
    }

    // table names come from the catalog, quoted there; nothing else varies
    private static String attempt(DataSource dataSource, String sql) throws SQLException {
        return Sql.attempt(dataSource::getConnection, sql);
    }
}
