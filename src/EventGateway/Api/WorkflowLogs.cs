using System.Text.Json;
using EventGateway.Execution;
using EventGateway.Model;
using EventGateway.Store;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Api;

/// <summary>
/// Streams step logs as Argo Server does: newline-delimited {"result":{"content","podName"}} objects,
/// optionally following until the workflow completes.
/// </summary>
internal static class WorkflowLogs
{
    public static async Task StreamAsync(HttpContext http, IResourceStore store, IStepExecutor executor, TimeProvider time, string ns, string name, CancellationToken ct)
    {
        var follow = http.Request.Query["logOptions.follow"] == "true";
        var podFilter = http.Request.Query["podName"].ToString();
        var wf = await store.GetAsync<Workflow>(ns, name, ct);
        if (wf is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            await http.Response.WriteAsJsonAsync(new { code = 5, message = $"workflows.argoproj.io \"{name}\" not found" }, ct);
            return;
        }
        http.Response.ContentType = "application/x-ndjson";
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), time);
        while (true)
        {
            var pods = (wf.Status?.Nodes?.Values.AsEnumerable() ?? []).Where(n => n.Type is NodeType.Pod or NodeType.Container && (podFilter.Length == 0 || n.Id == podFilter || n.DisplayName == podFilter))
                .OrderBy(n => n.StartedAt).ToList();
            foreach (var pod in pods)
            {
                var path = executor.LogPath(new StepKey(ns, name, pod.Id), "stdout");
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
        foreach (var line in text[..end].TrimEnd('\n').Split('\n'))
        {
            await JsonSerializer.SerializeAsync(http.Response.Body, new { result = new { content = line, podName } }, cancellationToken: ct);
            await http.Response.Body.WriteAsync("\n"u8.ToArray(), ct);
        }
    }
}
