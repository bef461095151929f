using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventGateway.Server.Telemetry;

namespace EventGateway.Server.Api;

/// <summary>GET /metrics: every metric of the host's registry in the Prometheus text format, behind the API's authentication.</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", async (ServiceMetrics metrics, HttpContext http, CancellationToken ct) =>
        {
            // Written to a buffer first: a failing collection (the store unreadable) answers 500 instead of a cut-off 200.
            using var buffer = new MemoryStream();
            await metrics.WriteAsync(buffer, ct);
            http.Response.ContentType = ServiceMetrics.ContentType;
            buffer.Position = 0;
            await buffer.CopyToAsync(http.Response.Body, ct);
        });
        return app;
    }
}
