using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// Pods as a kubelet would move them, driven by the test: <see cref="SetPod"/> sets the phase and container states
/// (waiting with a reason, running, terminated with an exit code and termination message) through the status
/// subresource, so watches see each change; <see cref="WriteLog"/> appends to a container's log; the `log` subresource
/// serves it (<c>container</c>, <c>follow</c>), with the API server's 400 for a container that has not started and a
/// follow that ends when the container has terminated or the pod is gone.
/// </summary>
public sealed partial class TestApiServer
{
    private readonly Dictionary<(string Ns, string Pod, string Container), StringBuilder> _logs = [];
    private TaskCompletionSource _podChange = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static JsonObject Waiting(string reason, string? message = null) =>
        new() { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = message } };

    public static JsonObject Running() => new() { ["running"] = new JsonObject { ["startedAt"] = Now() } };

    public static JsonObject Terminated(int exitCode, string? reason = null, string? message = null) => new()
    {
        ["terminated"] = new JsonObject
        {
            ["exitCode"] = exitCode,
            ["reason"] = reason ?? (exitCode == 0 ? "Completed" : "Error"),
            ["message"] = message,
            ["startedAt"] = Now(),
            ["finishedAt"] = Now(),
        },
    };

    /// <summary>Every object of a kind (in one namespace, or all), as the store holds it.</summary>
    public IReadOnlyList<JsonObject> List(string plural, string? ns = null)
    {
        var type = TypeOf(plural);
        lock (_gate)
            return _objects.Where(e => e.Key.Type == type && (ns is null || e.Key.Ns == ns)).Select(e => (JsonObject)e.Value.DeepClone()).ToList();
    }

    /// <summary>
    /// The kubelet's report: the pod's phase and the states of the named containers (others keep theirs; a container
    /// the spec lists as an init container is reported among initContainerStatuses). Returns the updated pod.
    /// </summary>
    public JsonObject SetPod(string ns, string name, string phase, params (string Container, JsonObject State)[] states)
    {
        JsonObject pod;
        lock (_gate) pod = (JsonObject)_objects[(TypeOf("pods"), ns, name)].DeepClone();
        var status = pod["status"] as JsonObject ?? new JsonObject();
        status["phase"] = phase;
        if (phase is "Running" or "Succeeded" or "Failed") status["podIP"] ??= "127.0.0.1";
        var inits = (pod["spec"]?["initContainers"] as JsonArray ?? []).Select(c => c?["name"]?.GetValue<string>()).ToHashSet();
        foreach (var (container, state) in states)
        {
            var field = inits.Contains(container) ? "initContainerStatuses" : "containerStatuses";
            var list = status[field] as JsonArray ?? [];
            status[field] = list;
            var entry = list.OfType<JsonObject>().FirstOrDefault(s => s["name"]?.GetValue<string>() == container);
            if (entry is null)
            {
                entry = new JsonObject { ["name"] = container, ["image"] = "", ["imageID"] = "", ["restartCount"] = 0, ["ready"] = false };
                list.Add(entry);
            }
            entry["state"] = state.DeepClone();
            entry["ready"] = state["running"] is not null;
            entry["started"] = state["running"] is not null;
        }
        pod["status"] = status;
        var (code, result) = UpdateObject(TypeOf("pods"), ns, name, pod, "status");
        if (code != 200) throw new InvalidOperationException(result.ToJsonString());
        SignalPods();
        return result;
    }

    /// <summary>The scheduler's or kubelet's condition on the pod (e.g. PodScheduled False, Unschedulable), replacing one of that type.</summary>
    public JsonObject SetPodCondition(string ns, string name, string type, string status, string? reason = null, string? message = null)
    {
        JsonObject pod;
        lock (_gate) pod = (JsonObject)_objects[(TypeOf("pods"), ns, name)].DeepClone();
        var st = pod["status"] as JsonObject ?? new JsonObject();
        var conditions = new JsonArray([.. (st["conditions"] as JsonArray ?? []).Where(c => c?["type"]?.GetValue<string>() != type).Select(c => c!.DeepClone())]);
        conditions.Add(new JsonObject { ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message, ["lastTransitionTime"] = Now() });
        st["conditions"] = conditions;
        st["phase"] ??= "Pending";
        pod["status"] = st;
        var (code, result) = UpdateObject(TypeOf("pods"), ns, name, pod, "status");
        if (code != 200) throw new InvalidOperationException(result.ToJsonString());
        SignalPods();
        return result;
    }

    /// <summary>Appends to a container's log (what it printed).</summary>
    public void WriteLog(string ns, string pod, string container, string text)
    {
        lock (_gate)
        {
            if (!_logs.TryGetValue((ns, pod, container), out var log)) _logs[(ns, pod, container)] = log = new StringBuilder();
            log.Append(text);
        }
        SignalPods();
    }

    private void SignalPods()
    {
        TaskCompletionSource old;
        lock (_gate) (old, _podChange) = (_podChange, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        old.TrySetResult();
    }

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>GET .../pods/NAME/log: the container's log, text/plain; with follow=true, streamed until the container has terminated.</summary>
    private async Task<(int, JsonNode)> PodLogAsync(HttpContext c, string ns, string name)
    {
        if (c.Request.Method != "GET") return (405, StatusObject(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", null));
        var pods = TypeOf("pods");
        JsonObject? pod;
        lock (_gate) pod = _objects.GetValueOrDefault((pods, ns, name)) is { } p ? (JsonObject)p.DeepClone() : null;
        if (pod is null) return (404, NotFound(pods, name));
        var names = (pod["spec"]?["containers"] as JsonArray ?? []).Concat(pod["spec"]?["initContainers"] as JsonArray ?? [])
            .Select(x => x?["name"]?.GetValue<string>()).OfType<string>().ToList();
        var container = c.Request.Query["container"].ToString();
        if (container.Length == 0)
        {
            if (names.Count != 1)
                return (400, StatusObject(400, "BadRequest", $"a container name must be specified for pod {name}, choose one of: [{string.Join(' ', names)}]", null));
            container = names[0];
        }
        if (!names.Contains(container)) return (400, StatusObject(400, "BadRequest", $"container {container} is not valid for pod {name}", null));
        if (StateOf(pod, container) is not ("running" or "terminated"))
            return (400, StatusObject(400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating", null));

        var follow = c.Request.Query["follow"] == "true";
        Record(c, 200);
        c.Response.StatusCode = 200;
        c.Response.ContentType = "text/plain";
        var sent = 0;
        while (true)
        {
            string chunk;
            Task changed;
            bool ended;
            lock (_gate)
            {
                var log = _logs.GetValueOrDefault((ns, name, container))?.ToString() ?? "";
                chunk = log[sent..];
                sent = log.Length;
                changed = _podChange.Task;
                var current = _objects.GetValueOrDefault((pods, ns, name));
                ended = current is null || StateOf(current, container) == "terminated";
            }
            if (chunk.Length > 0)
            {
                await c.Response.WriteAsync(chunk, c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
            }
            if (!follow || ended) break;
            // A deletion (through the API, not a hook) signals nothing here: looked at again every 100 ms as well.
            try { await changed.WaitAsync(TimeSpan.FromMilliseconds(100), c.RequestAborted); }
            catch (TimeoutException) { }
            catch (OperationCanceledException) { break; }
        }
        return (0, new JsonObject());
    }

    private static string? StateOf(JsonObject pod, string container) =>
        (pod["status"]?["containerStatuses"] as JsonArray ?? []).Concat(pod["status"]?["initContainerStatuses"] as JsonArray ?? [])
            .OfType<JsonObject>().FirstOrDefault(s => s["name"]?.GetValue<string>() == container)?["state"] is JsonObject state
            ? state.Select(p => p.Key).FirstOrDefault(k => state[k] is not null)
            : null;
}
