using Microsoft.AspNetCore.Http;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Api;

/// <summary>
/// /readyz: ready only while the service can take work, i.e. the store answers, the data directory takes a write, and
/// the event log accepts appends. A full disk makes it 503 (with the reason) instead of 200 with every write failing.
/// </summary>
internal static class Readiness
{
    /// <summary>Bytes the probe writes: more than one SQLite page and WAL frame, so a nearly full disk fails it too.</summary>
    private const int ProbeBytes = 64 * 1024;

    public static async Task<IResult> CheckAsync(IResourceStore store, IEventLog events, EventGatewayOptions options, HttpContext http, CancellationToken ct)
    {
        string? problem = null;
        try
        {
            await store.ListAsync<ConfigMap>("kube-system", ct);
            await ProbeWriteAsync(options.DataDir, ct);
        }
        catch (Exception e) when (StorageFailure.Describe(e) is { } storage) { problem = $"storage cannot take writes: {storage}"; }
        catch (IOException e) { problem = $"data directory cannot take writes: {e.Message}"; }
        catch (UnauthorizedAccessException e) { problem = $"data directory cannot take writes: {e.Message}"; }
        if (problem is null && !events.AcceptsWrites) problem = "event log does not accept writes (storage failed, event bus unreachable, queue full or shutting down)";
        // In Kubernetes mode the objects come from the cluster: not ready before each kind was listed once.
        if (problem is null && options.Kubernetes is not null && http.RequestServices.GetService(typeof(Kubernetes.ClusterObjectMirror)) is Kubernetes.ClusterObjectMirror { Synced: false } mirror)
            problem = "kubernetes: not yet listed from the API server: " + string.Join(", ", mirror.Health.Where(h => !h.Value.Synced)
                .Select(h => h.Value.LastError is { } e ? $"{h.Key} ({e})" : h.Key).Order(StringComparer.Ordinal));
        if (problem is null) return Results.Text("ok");
        return Results.Json(new { code = 14, message = problem }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task ProbeWriteAsync(string dataDir, CancellationToken ct)
    {
        var path = Path.Combine(dataDir, ".readyz-probe");
        try
        {
            await using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
            await f.WriteAsync(new byte[ProbeBytes], ct);
            await f.FlushAsync(ct);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
