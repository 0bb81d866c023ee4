package ai.neuraldivergence.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** Where the comparison service is and how to talk to it: flags, else the environment. */
public final class Connection {

    @Option(names = "--address", description = "host:port of the comparison service (env ND_ADDRESS; default "
            + "127.0.0.1:8082)")
    String address = System.getenv().getOrDefault("ND_ADDRESS", "127.0.0.1:8082");

    @Option(names = "--token", description = "API token (env ND_TOKEN); sent as 'authorization: Bearer <token>'")
    String token = System.getenv("ND_TOKEN");

    @Option(names = "--timeout", description = "seconds a call may take (default ${DEFAULT-VALUE})")
    long timeoutSeconds = 60;

    @Option(names = "--tls", description = "connect with TLS")
    boolean tls;

    ManagedChannel open() {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--address must be host:port, got '" + address + "'");
        }
        String host = address.substring(0, colon);
        ManagedChannelBuilder<?> b = ManagedChannelBuilder.forAddress(host,
                Integer.parseInt(address.substring(colon + 1))).maxInboundMessageSize(64 << 20)
                // pings while a call is open: a quiet `nd watch` behind a NAT or a load balancer that drops idle
                // connections learns it was cut, instead of waiting for events forever
                .keepAliveTime(60, TimeUnit.SECONDS).keepAliveTimeout(20, TimeUnit.SECONDS);
        if (!tls && token != null && !token.isEmpty() && !loopback(host)) {
            System.err.println("nd: warning: the token goes to " + host + " unencrypted; use --tls unless the path "
                    + "to the service is private");
        }
        return (tls ? b.useTransportSecurity() : b.usePlaintext()).build();
    }

    private static boolean loopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]");
    }

    ComparisonServiceGrpc.ComparisonServiceBlockingStub stub(ManagedChannel channel, boolean streaming) {
        ComparisonServiceGrpc.ComparisonServiceBlockingStub s = ComparisonServiceGrpc.newBlockingStub(channel);
        if (!streaming) {
            s = s.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
        }
        if (token != null && !token.isEmpty()) {
            Metadata m = new Metadata();
            m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
        }
        return s;
    }
}
