package ai.neuraldivergence.traffic;

import ai.neuraldivergence.proto.v1.ListReferencesResponse;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.SealReferenceRequest;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/** The reference calls the replay makes on the comparison service's JSON API ({@code /api/v1}). */
public final class ComparisonClient {

    /** A refusal with the API's code (NOT_FOUND, UNAVAILABLE, ...) and message. */
    public static final class ApiException extends IOException {
        private final int status;

        ApiException(int status, String body) {
            super("comparison answered " + status + ": " + body);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String api;
    private final String token;

    /** @param token the comparison API token (write scope to seal and delete), or null when it requires none */
    public ComparisonClient(String baseUrl, String token) {
        this.api = baseUrl.replaceAll("/+$", "") + "/api/v1";
        this.token = token == null || token.isBlank() ? null : token.trim();
    }

    /** The model version's reference of this name, if it has one. */
    public Optional<Reference> reference(String modelId, String modelVersion, String name) throws IOException,
            InterruptedException {
        String body = send(request("/references?model_id=" + encode(modelId)).GET());
        ListReferencesResponse.Builder list = ListReferencesResponse.newBuilder();
        JsonFormat.parser().ignoringUnknownFields().merge(body, list);
        return list.getReferencesList().stream()
                .filter(r -> r.getName().equals(name) && r.getModelVersion().equals(modelVersion)).findFirst();
    }

    /** Deletes one version's reference of this name. */
    public void delete(String modelId, String modelVersion, String name) throws IOException, InterruptedException {
        send(request("/references/" + encode(modelId) + "/" + encode(name) + "?model_version="
                + encode(modelVersion)).DELETE());
    }

    /** Asks for the reference to be sealed at {@code expected} observations per tap. */
    public Reference seal(String modelId, String modelVersion, String name, long expected) throws IOException,
            InterruptedException {
        String json = JsonFormat.printer().print(SealReferenceRequest.newBuilder().setModelId(modelId)
                .setModelVersion(modelVersion).setName(name).setExpectedObservations(expected));
        String body = send(request("/references/seal").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
        Reference.Builder out = Reference.newBuilder();
        JsonFormat.parser().ignoringUnknownFields().merge(body, out);
        return out.build();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(api + path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        return r;
    }

    private String send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new ApiException(r.statusCode(), r.body());
        }
        return r.body();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
