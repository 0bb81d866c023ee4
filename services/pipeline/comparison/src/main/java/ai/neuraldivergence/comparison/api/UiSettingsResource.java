package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * What the web UI needs to know of the deployment: where a browser reaches the inference service for an uploaded
 * digit (empty: uploads are off). Not part of the gRPC API: only the UI needs it.
 */
@Path("/api/v1/ui-settings")
@Produces(MediaType.APPLICATION_JSON)
public class UiSettingsResource {

    @Inject
    ComparisonConfig config;

    @GET
    public Response uiSettings() {
        return Response.ok("{\"inferenceUrl\":" + JsonMirrorResource.quote(config.ui().inferenceUrl().orElse(""))
                + "}").build();
    }
}
