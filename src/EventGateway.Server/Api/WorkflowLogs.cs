using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using EventGateway.Model;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Api;

/// <summary>
/// Streams step logs as Argo Server does: newline-delimited {"result":{"content","podName"}} objects,
/// optionally following until the workflow completes.
/// </summary>
internal static class WorkflowLogs
{
    public static async Task StreamAsync(HttpContext http, IResourceStore store, IStepExecutor executor, TimeProvider time, RetentionOptions retention,
        string ns, string name, CancellationToken ct)
    {
        var follow = http.Request.Query["logOptions.follow"] == "true";
        var podFilter = http.Request.Query["podName"].ToString();
        // Argo's logOptions.container: a pod's sidecar (its logs live beside main's, under the pod's directory).
        var container = http.Request.Query["logOptions.container"].ToString();
        if (container is "main" || container.Contains('/') || container is "." or "..") container = "";
        var wf = await store.GetAsync<Workflow>(ns, name, ct);
        if (wf is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            await http.Response.WriteAsJsonAsync(new { code = 5, message = await NotFoundAsync(http, ns, name, ct) }, ct);
            return;
        }
        http.Response.ContentType = "application/x-ndjson";
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        var collected = new HashSet<string>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), time);
        while (true)
        {
            var pods = (wf.Status?.Nodes?.Values.AsEnumerable() ?? []).Where(n => n.Type is NodeType.Pod or NodeType.Container && (podFilter.Length == 0 || n.Id == podFilter || n.DisplayName == podFilter))
                .OrderBy(n => n.StartedAt).ToList();
            foreach (var pod in pods)
            {
                var path = executor.LogPath(new StepKey(ns, name, container.Length > 0 && pod.Type == NodeType.Pod ? $"{pod.Id}/{container}" : pod.Id), "stdout");
                if (!File.Exists(path) && RetentionPolicy.PodGCOf(wf, retention) is { } gc && RetentionPolicy.CollectAt(gc, wf, pod) is { } at && at <= time.GetUtcNow())
                {
                    // Said once per pod, in the stream, so a reader of several steps sees which ones are gone and why.
                    if (collected.Add(pod.Id)) await WriteLineAsync(http, $"logs removed by podGC (strategy {gc.Strategy}) at {at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}", pod.Id, ct);
                    continue;
                }
                await CopyNewLinesAsync(http, path, pod.Id, offsets, pod.Fulfilled, ct);
            }
            await http.Response.Body.FlushAsync(ct);
            if (!follow || wf.Status?.IsCompleted == true) break;
            if (!await timer.WaitForNextTickAsync(ct)) break;
            wf = await store.GetAsync<Workflow>(ns, name, ct);
            if (wf is null) break;
        }
    }

    private static async Task CopyNewLinesAsync(HttpContext http, string path, string podName, Dictionary<string, long> offsets, bool finished, CancellationToken ct)
    {
        if (!File.Exists(path)) return;
        await using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = offsets.GetValueOrDefault(podName);
        using var reader = new StreamReader(f);
        var text = await reader.ReadToEndAsync(ct);
        // Only whole lines are sent while a step runs; the tail of a finished step is sent as it is.
        var end = finished ? text.Length : text.LastIndexOf('\n') + 1;
        if (end <= 0) return;
        offsets[podName] = offsets.GetValueOrDefault(podName) + System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, end));
        foreach (var line in text[..end].TrimEnd('\n').Split('\n')) await WriteLineAsync(http, line, podName, ct);
    }

    private static async Task WriteLineAsync(HttpContext http, string content, string podName, CancellationToken ct)
    {
        await JsonSerializer.SerializeAsync(http.Response.Body, new { result = new { content, podName } }, cancellationToken: ct);
        await http.Response.Body.WriteAsync("\n"u8.ToArray(), ct);
    }

    /// <summary>Why a workflow's logs cannot be read: it never existed, or it was removed and only the archive (which keeps no logs) has it.</summary>
    private static async Task<string> NotFoundAsync(HttpContext http, string ns, string name, CancellationToken ct)
    {
        var missing = $"workflows.argoproj.io \"{name}\" not found";
        if (http.RequestServices.GetService<IWorkflowArchive>() is not { } archive || await archive.FindAsync(ns, name, ct) is not { } archived) return missing;
        var finished = archived.Status?.FinishedAt is { } f ? $" at {f.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}" : "";
        return $"{missing}: it finished ({archived.Status?.Phase}){finished} and was removed; the archive keeps it (uid {archived.Metadata.Uid}), but logs are not archived";
    }
}
