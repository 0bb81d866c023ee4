package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * What the watchdog wakes and what it leaves alone: a consumer thread inside a Kafka call that does not return (a
 * broker that accepts connections and never answers, the call's own timeout 10 minutes) is seen to be in the Kafka
 * client, and wakeup() ends the call; a thread waiting for a write is not in one.
 */
class KafkaCallTest {

    @Test
    void aKafkaCallToASilentBrokerIsSeenAndWokenAThreadWaitingForAWriteIsNot() throws Exception {
        List<Socket> accepted = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ServerSocket silent = new ServerSocket(0)) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept());
                    }
                } catch (Exception closed) {
                    // the test is over
                }
            }, "silent-broker");
            acceptor.setDaemon(true);
            acceptor.start();
            Map<String, Object> config = Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + silent.getLocalPort(),
                    ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 600_000,
                    ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 600_000,
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName(),
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            AtomicReference<Throwable> ended = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
                Thread caller = new Thread(() -> {
                    try {
                        consumer.beginningOffsets(List.of(new TopicPartition("t", 0)));
                    } catch (Throwable t) {
                        ended.set(t);
                    } finally {
                        done.countDown();
                    }
                }, "stuck-consumer");
                caller.start();
                assertTrue(await(() -> KafkaCall.onTop(caller.getStackTrace()), Duration.ofSeconds(20)),
                        "the caller is inside the Kafka client");
                assertFalse(done.await(2, TimeUnit.SECONDS), "the call does not return by itself");

                consumer.wakeup();

                assertTrue(done.await(20, TimeUnit.SECONDS), "a woken call returns");
                assertInstanceOf(WakeupException.class, ended.get());
            }
        } finally {
            for (Socket s : accepted) {
                s.close();
            }
        }

        CompletableFuture<Void> write = new CompletableFuture<>();
        Thread waiting = new Thread(() -> write.join(), "waiting-for-a-write");
        waiting.start();
        try {
            assertTrue(await(() -> waiting.getState() == Thread.State.WAITING, Duration.ofSeconds(10)));
            assertFalse(KafkaCall.onTop(waiting.getStackTrace()), "a thread waiting for a write is left alone");
        } finally {
            write.complete(null);
            waiting.join();
        }
        assertFalse(KafkaCall.onTop(new StackTraceElement[] {
            new StackTraceElement("sun.nio.ch.NioSocketImpl", "read", null, 1),
            new StackTraceElement("org.postgresql.core.PGStream", "receiveChar", null, 1),
            new StackTraceElement("org.apache.kafka.clients.consumer.internals.ConsumerCoordinator",
                    "invokePartitionsAssigned", null, 1)}), "a database read inside a rebalance callback is left alone");
    }

    private static boolean await(java.util.function.BooleanSupplier condition, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }
}
