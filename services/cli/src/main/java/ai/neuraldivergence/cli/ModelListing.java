package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc.ComparisonServiceBlockingStub;
import com.google.protobuf.MessageOrBuilder;
import java.util.function.Consumer;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** A command that lists what the service holds of every model, or of the one named. */
abstract class ModelListing extends Call {

    /** Empty: every model. */
    @Option(names = "--model")
    String model = "";

    <R extends MessageOrBuilder> int list(Function<ComparisonServiceBlockingStub, R> rpc, Consumer<R> table)
            throws Exception {
        return call("listing", rpc, table);
    }
}
