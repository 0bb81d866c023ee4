package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.launcher.KafkaBroker;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The fault matrix, with larger numbers than the tests: a known stream (48,000 observations of two taps over about
 * a minute, a quarter of them labelled late) goes through the packaged aggregator while one fault is injected, and
 * afterwards every stored minute is checked against what was sent. One line per fault: observations sent, stored,
 * lost, dead-lettered, and whether every count, sum and non-finite count is exact (hours the merge of their minutes).
 * Run it with deploy/benchmark-faults.sh.
 *
 * <pre>FaultBenchmark [BATCHES]   (batches of 20 observations; 2,400 by default)</pre>
 */
public final class FaultBenchmark {

    private static final Duration READY = Duration.ofSeconds(120);

    private record Row(String fault, long sent, long stored, long deadLettered, String exact) {
    }

    public static void main(String[] args) throws Exception {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 2_400;
        TestInfrastructure infra = TestInfrastructure.shared();
        List<Row> rows = new ArrayList<>();
        rows.add(sigkill(infra, batches, 20));
        rows.add(brokerRestart(batches));
        rows.add(postgresRestart(infra, batches));
        rows.add(poison(infra, batches));
        rows.add(scaleOut(infra, batches));
        System.out.println();
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %8s %14s  %s%n", "fault", "sent", "stored", "lost",
                "dead-lettered", "exact");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-44s %,10d %,10d %,8d %,14d  %s%n", r.fault(), r.sent(), r.stored(),
                    r.sent() - r.stored(), r.deadLettered(), r.exact());
        }
        System.exit(rows.stream().allMatch(r -> r.exact().equals("yes") && r.sent() == r.stored()) ? 0 : 1);
    }

    /** The aggregator killed with SIGKILL {@code kills} times mid-stream, restarted each time. */
    static Row sigkill(TestInfrastructure infra, int batches, int kills) throws Exception {
        KnownStream stream = new KnownStream("faults.kill.activations", batches, 25);
        String db = infra.newDatabase("faults_kill");
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread producer = new Thread(() -> stream.produce(infra.kafkaBootstrapServers(), producing));
        producer.start();
        Random random = new Random(20261201);
        ServiceProcess aggregator = stream.startAggregator(db, "faults-kill", "faults-kill");
        try {
            aggregator.awaitReady(READY);
            for (int k = 0; k < kills; k++) {
                Thread.sleep(800 + random.nextInt(1500));
                aggregator.kill();
                aggregator = stream.startAggregator(db, "faults-kill", "faults-kill");
                aggregator.awaitReady(READY);
            }
            producer.join();
            return settle("SIGKILL x " + kills + " mid-stream", stream, db);
        } finally {
            aggregator.close();
        }
    }

    /** The Kafka broker (a child JVM on its own log folder) stopped mid-stream and started again. */
    static Row brokerRestart(int batches) throws Exception {
        KnownStream stream = new KnownStream("faults.broker.activations", batches, 25);
        Path dir = Files.createTempDirectory("nd-faults-broker");
        try (KafkaBroker broker = new KafkaBroker(dir.resolve("kafka"), Path.of("target", "e2e-logs",
                "faults-broker"), freePort(), freePort(), "384m")) {
            broker.start();
            createTopics(broker.bootstrapServers(), stream, 4);
            String db = TestInfrastructure.shared().newDatabase("faults_broker");
            AtomicBoolean producing = new AtomicBoolean(true);
            try (ServiceProcess aggregator = stream.startAggregator(broker.bootstrapServers(), db, "faults-broker",
                    "faults-broker")) {
                aggregator.awaitReady(READY);
                Thread producer = new Thread(() -> stream.produce(broker.bootstrapServers(), producing));
                producer.start();
                Thread.sleep(10_000);
                broker.stop();
                aggregator.awaitReadiness(503);
                Thread.sleep(5_000);
                broker.start();
                aggregator.awaitReadiness(200);
                producer.join();
                return settle("Kafka broker stopped and restarted", stream, db);
            }
        }
    }

    /** PostgreSQL stopped mid-stream and started again on its data folder. */
    static Row postgresRestart(TestInfrastructure infra, int batches) throws Exception {
        KnownStream stream = new KnownStream("faults.postgres.activations", batches, 25);
        int port = freePort();
        Path data = Files.createTempDirectory("nd-faults-pg");
        EmbeddedPostgres pg = EmbeddedPostgres.builder().setPort(port).setDataDirectory(data)
                .setCleanDataDirectory(false).start();
        String db = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        AtomicBoolean producing = new AtomicBoolean(true);
        try (ServiceProcess aggregator = stream.startAggregator(db, "faults-postgres", "faults-postgres")) {
            aggregator.awaitReady(READY);
            Thread producer = new Thread(() -> stream.produce(infra.kafkaBootstrapServers(), producing));
            producer.start();
            Thread.sleep(10_000);
            pg.close();
            aggregator.awaitReadiness(503);
            Thread.sleep(5_000);
            pg = EmbeddedPostgres.builder().setPort(port).setDataDirectory(data).setCleanDataDirectory(false).start();
            aggregator.awaitReadiness(200);
            producer.join();
            return settle("PostgreSQL stopped and restarted", stream, db);
        } finally {
            pg.close();
        }
    }

    /**
     * Poison of every kind written straight to Kafka in the middle of the stream, one record of each, among them a
     * record the database refuses (a constraint it violates): each must be dead-lettered alone.
     */
    static Row poison(TestInfrastructure infra, int batches) throws Exception {
        KnownStream stream = new KnownStream("faults.poison.activations", batches, 25);
        String db = infra.newDatabase("faults_poison");
        // a model of their own: the stream's taps keep their layout
        List<KafkaPoison> poison = KafkaPoison.everyKind(stream.topic, stream.labelsTopic(), "faults-poison",
                "dense", KnownStream.NEURONS[1], "refused-by-the-database");
        AtomicBoolean producing = new AtomicBoolean(true);
        try (ServiceProcess aggregator = stream.startAggregator(db, "faults-poison", "faults-poison")) {
            aggregator.awaitReady(READY);
            try (Connection c = DriverManager.getConnection(db, TestInfrastructure.DB_USER,
                    TestInfrastructure.DB_PASSWORD); Statement s = c.createStatement()) {
                s.execute("ALTER TABLE recent_observation ADD CONSTRAINT faults_poison CHECK "
                        + "(instance_id <> 'refused-by-the-database')");
            }
            Thread producer = new Thread(() -> stream.produce(infra.kafkaBootstrapServers(), producing));
            producer.start();
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers",
                    infra.kafkaBootstrapServers(), "key.serializer", ByteArraySerializer.class.getName(),
                    "value.serializer", ByteArraySerializer.class.getName(), "acks", "all"))) {
                for (KafkaPoison record : poison) {
                    Thread.sleep(1_000);
                    p.send(new ProducerRecord<>(record.topic(), record.key().getBytes(), record.value()))
                            .get(30, TimeUnit.SECONDS);
                }
            }
            producer.join();
            return settle("poison of each kind (" + poison.size() + " records) mid-stream", stream, db);
        }
    }

    /** Three instances on six partitions; one killed with SIGKILL and one added mid-stream. */
    static Row scaleOut(TestInfrastructure infra, int batches) throws Exception {
        KnownStream stream = new KnownStream("faults.scale.activations", batches, 25);
        createTopics(infra.kafkaBootstrapServers(), stream, 6);
        String db = infra.newDatabase("faults_scale");
        List<ServiceProcess> instances = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                instances.add(stream.startAggregator(db, "faults-scale", "faults-scale-" + i));
            }
            for (ServiceProcess p : instances) {
                p.awaitReady(READY);
            }
            AtomicBoolean producing = new AtomicBoolean(true);
            Thread producer = new Thread(() -> stream.produce(infra.kafkaBootstrapServers(), producing));
            producer.start();
            Thread.sleep(15_000);
            instances.get(1).kill();
            Thread.sleep(5_000);
            ServiceProcess added = stream.startAggregator(db, "faults-scale", "faults-scale-3");
            instances.add(added);
            added.awaitReady(READY);
            producer.join();
            return settle("3 instances, 1 killed, 1 added mid-stream", stream, db);
        } finally {
            instances.forEach(ServiceProcess::close);
        }
    }

    /** Waits for the stream to be stored and checks it against what was sent. */
    private static Row settle(String fault, KnownStream stream, String db) {
        String exact = "yes";
        try {
            stream.awaitAll(db);
            stream.verifyAgainstWhatWasSent(db);
        } catch (Throwable e) {
            exact = "no: " + e.getMessage();
        }
        // the dead-letter topic of the stream, on the test JVM's broker (the broker-restart fault's is its own)
        long deadLettered = fault.startsWith("Kafka") ? 0 : ai.neuraldivergence.testkit.TopicRecords.await(
                stream.deadLetterTopic(), r -> true, 0).size();
        return new Row(fault, stream.observations(), KnownStream.storedObservations(db), deadLettered, exact);
    }

    private static void createTopics(String bootstrap, KnownStream stream, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(stream.topic, partitions, (short) 1),
                    new NewTopic(stream.labelsTopic(), partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
