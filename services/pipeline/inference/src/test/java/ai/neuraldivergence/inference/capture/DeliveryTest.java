package ai.neuraldivergence.inference.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a request that waits for its capture hears: done only once every record carrying its rows is settled, and
 * per tap whether it is recorded, so that a client retrying after a partial failure resends only what is missing.
 */
class DeliveryTest {

    @Test
    void aTapRefusedWhileAnotherArrivedIsNamedAsNotRecorded() {
        Delivery d = new Delivery();
        assertTrue(d.take());
        d.expect();
        d.expect();
        d.expect();
        d.seal();
        d.acknowledged("conv1");
        d.acknowledged("dense1");
        assertFalse(d.outcome().isDone(), "one record is still in flight");
        d.failed("dense2", "tap dense2: RecordTooLargeException");
        Delivery.Outcome o = d.outcome().join();
        assertFalse(o.delivered());
        assertEquals(Set.of("conv1", "dense1"), o.recorded());
        assertEquals(Set.of(), o.partlyRecorded());
        assertEquals(Set.of("dense2"), o.notRecorded());
    }

    @Test
    void aTapSplitOverRecordsOfWhichOneFailedIsPartlyRecorded() {
        Delivery d = new Delivery();
        d.take();
        d.expect();
        d.expect();
        d.acknowledged("wide");
        d.failed("wide", "tap wide: timeout");
        d.seal();
        Delivery.Outcome o = d.outcome().join();
        assertEquals(Set.of("wide"), o.partlyRecorded());
        assertEquals(Set.of(), o.recorded());
    }

    @Test
    void aCaptureThatCouldNotBeBuiltCompletesOnceWhatWasSentIsSettled() {
        Delivery d = new Delivery();
        d.take();
        d.expect();
        d.notSent("dense1");
        d.abort("capture records could not be built: boom");
        assertFalse(d.outcome().isDone(), "a record sent before the failure is still in flight");
        d.acknowledged("conv1");
        Delivery.Outcome o = d.outcome().join();
        assertFalse(o.delivered());
        assertEquals(Set.of("conv1"), o.recorded());
        assertEquals(Set.of("dense1"), o.notRecorded());
    }

    @Test
    void aCaptureAbortedBeforeAnyRecordCompletesAtOnce() {
        // before abort() existed, a failure without a record left the request waiting until its timeout
        Delivery d = new Delivery();
        d.take();
        d.abort("capture could not be built: NPE");
        assertTrue(d.outcome().isDone());
        assertEquals(1, d.outcome().join().failures().size());
    }

    @Test
    void aWithdrawnCaptureIsNeverTaken() {
        Delivery d = new Delivery();
        assertTrue(d.cancel("not sent within 10 s"));
        assertFalse(d.take());
        assertFalse(d.outcome().join().delivered());
    }
}
