package ai.neuraldivergence.traffic;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Posts inputs to the inference service's {@code POST /v1/predict}. */
public final class InferenceClient {

    /** What the service answered for one request. */
    public record Answer(int predicted, int shed) {
    }

    private static final Pattern CAPTURE = Pattern.compile("\"capture\"\\s*:\\s*\"(\\w[\\w-]*)\"");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI predict;
    private final String token;

    /**
     * @param token the inference API token, or null when the service requires none; read from the environment
     *     ({@code ND_TOKEN}) by the commands, never from an argument that the process list would show
     */
    public InferenceClient(String baseUrl, String token) {
        this.predict = URI.create(baseUrl.replaceAll("/+$", "") + "/v1/predict");
        this.token = token == null || token.isBlank() ? null : token.trim();
    }

    /** The served model's id and version. */
    public record Model(String modelId, String modelVersion) {
    }

    private static final Pattern MODEL_ID = Pattern.compile("\"modelId\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern MODEL_VERSION = Pattern.compile("\"modelVersion\"\\s*:\\s*\"([^\"]+)\"");

    /** Asks the service which model it serves ({@code GET /v1/model}). */
    public Model model() throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(predict.resolve("model")).timeout(Duration.ofSeconds(30));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
        Matcher id = MODEL_ID.matcher(r.body());
        Matcher version = MODEL_VERSION.matcher(r.body());
        if (r.statusCode() != 200 || !id.find() || !version.find()) {
            throw new IOException("inference answered " + r.statusCode() + " to GET /v1/model: " + r.body());
        }
        return new Model(id.group(1), version.group(1));
    }

    /** Sends one request; throws IOException when the service refuses or cannot be reached. */
    public Answer send(List<Inputs.Input> inputs, Map<String, String> extraTags) throws IOException,
            InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(predict).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(request.POST(HttpRequest.BodyPublishers.ofString(json(inputs, extraTags)))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 409) {
            throw new Refused(r.statusCode(), r.body());
        }
        if (r.statusCode() != 200) {
            throw new IOException("inference answered " + r.statusCode() + ": " + r.body());
        }
        int shed = 0;
        Matcher m = CAPTURE.matcher(r.body());
        while (m.find()) {
            if (m.group(1).equals("shed")) {
                shed++;
            }
        }
        return new Answer(inputs.size(), shed);
    }

    /** An answer that retrying cannot change (a sealed reference: 409). */
    public static final class Refused extends IOException {
        public Refused(int status, String body) {
            super("inference answered " + status + ": " + body);
        }
    }

    static String json(List<Inputs.Input> inputs, Map<String, String> extraTags) {
        StringBuilder s = new StringBuilder(inputs.size() * 4000).append("{\"instances\":[");
        for (int i = 0; i < inputs.size(); i++) {
            Inputs.Input in = inputs.get(i);
            s.append(i == 0 ? "" : ",").append("{\"pixels\":[");
            float[] p = in.pixels();
            for (int j = 0; j < p.length; j++) {
                if (j > 0) {
                    s.append(',');
                }
                // four decimals keep a 784-pixel image near 3 KB
                s.append(p[j] == 0f ? "0" : Float.toString(Math.round(p[j] * 10000f) / 10000f));
            }
            s.append("]");
            if (in.trueLabel() != null) {
                s.append(",\"trueLabel\":").append(in.trueLabel());
            }
            if (in.pairId() != null) {
                s.append(",\"pairId\":\"").append(in.pairId()).append("\",\"pairRole\":\"").append(in.pairRole())
                        .append('"');
            }
            s.append(",\"tags\":{");
            boolean first = true;
            for (Map<String, String> tags : List.of(in.tags(), extraTags)) {
                for (Map.Entry<String, String> t : tags.entrySet()) {
                    s.append(first ? "" : ",").append('"').append(t.getKey()).append("\":\"").append(t.getValue())
                            .append('"');
                    first = false;
                }
            }
            s.append("}}");
        }
        return s.append("]}").toString();
    }
}
