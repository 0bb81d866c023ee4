package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.comparison.query.References;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.Reference;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Freezing references cannot take the service's connection pool: a freeze holds a connection for its write and
 * takes another for its reads, so as many freezes as the pool has connections held all of it, and every other
 * call waited until the pool gave up. The freezes here are held in the database by a lock on the reference table,
 * as a long range's reads would hold them.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class ConcurrentFreezeTest extends GrpcApiTest {

    /** The pool's size (quarkus.datasource.jdbc.max-size): one freeze for each connection. */
    private static final int FREEZES = 16;

    @Inject
    @SchemaOwner
    DataSource owner;

    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void freezesBeyondTheirShareAreRefusedAndOtherCallsGoOn() throws Exception {
        DriftFixture.seed(owner, "freezes");
        List<ListenableFuture<Reference>> freezes = new ArrayList<>();
        try (Connection lock = owner.getConnection()) {
            lock.setAutoCommit(false);
            try (Statement s = lock.createStatement()) {
                s.execute("LOCK TABLE reference IN ACCESS EXCLUSIVE MODE");
            }
            var stub = ComparisonServiceGrpc.newFutureStub(channel).withDeadlineAfter(90, TimeUnit.SECONDS);
            for (int i = 0; i < FREEZES; i++) {
                freezes.add(stub.createReference(CreateReferenceRequest.newBuilder().setModelId("freezes")
                        .setModelVersion("v2").setName("frozen-" + i)
                        .setRange(DriftFixture.minutes(0, 10).getTimeRange()).build()));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (freezes.stream().filter(ListenableFuture::isDone).count() < FREEZES
                    - References.CONCURRENT_FREEZES && System.nanoTime() < until) {
                Thread.sleep(100);
            }
            // while the freezes wait, a comparison gets a connection
            assertTrue(api.withDeadlineAfter(20, TimeUnit.SECONDS).compare(CompareRequest.newBuilder().setModelId("freezes").setModelVersion("v2")
                    .setA(DriftFixture.minutes(0, 10)).setB(DriftFixture.minutes(10, 20)).build()).getTapsCount() > 0);
            int refused = 0;
            for (ListenableFuture<Reference> f : freezes) {
                if (f.isDone()) {
                    Status status = ((StatusRuntimeException) assertThrows(ExecutionException.class, f::get)
                            .getCause()).getStatus();
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
                    refused++;
                }
            }
            assertEquals(FREEZES - References.CONCURRENT_FREEZES, refused, "refused at once, not queued");
            lock.rollback();
        }
        int created = 0;
        for (ListenableFuture<Reference> f : freezes) {
            try {
                f.get(60, TimeUnit.SECONDS);
                created++;
            } catch (ExecutionException refused) {
                // counted above
            }
        }
        assertEquals(References.CONCURRENT_FREEZES, created);
        assertEquals(created, api.listReferences(ListReferencesRequest.newBuilder().setModelId("freezes").build())
                .getReferencesCount());
    }
}
