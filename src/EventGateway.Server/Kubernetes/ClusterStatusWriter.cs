using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources;
using EventGateway.Events.Sensors;
using EventGateway.Model.Manifests;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// Writes each cluster EventSource's, Sensor's and EventBus's status back through the status subresource, with the conditions
/// Argo Events' controllers set: SourcesProvided and Deployed for an EventSource; DependenciesProvided,
/// TriggersProvided and Deployed for a Sensor (reasons InvalidEventSource, InvalidDependencies, InvalidTriggers as
/// Argo's validation uses them; an EventBus gets Configured and Deployed from <see cref="EventBusChoice"/>; a condition keeps its lastTransitionTime while its status, reason and message stay).
/// Runs after every change the mirror makes and every <see cref="Interval"/> (listeners and sensors change state on
/// their own); writes only what changed.
/// </summary>
public sealed partial class ClusterStatusWriter(
    IKubernetes client,
    ClusterObjectMirror mirror,
    EventSourceHost sources,
    SensorHost sensors,
    TimeProvider time,
    ILogger<ClusterStatusWriter> log,
    string? eventBus = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    public sealed record Condition(string Type, string Status, string? Reason, string? Message);

    private readonly Dictionary<ClusterObjectMirror.ObjectKey, JsonArray> _written = [];
    private readonly SemaphoreSlim _wake = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        mirror.Changed += OnChanged;
        using var timer = time.CreateTimer(_ => Wake(), null, Interval, Interval);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _wake.WaitAsync(stoppingToken).ConfigureAwait(false);
                while (_wake.CurrentCount > 0) await _wake.WaitAsync(stoppingToken).ConfigureAwait(false); // coalesce
                await WriteAllAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            mirror.Changed -= OnChanged;
        }
    }

    private void OnChanged(ClusterObjectMirror.ObjectKey key)
    {
        if (key.Kind is "EventSource" or "Sensor" or "EventBus") Wake();
    }

    private void Wake()
    {
        if (_wake.CurrentCount < 2) _wake.Release();
    }

    private async Task WriteAllAsync(CancellationToken ct)
    {
        var keys = mirror.Objects.Where(k => k.Kind is "EventSource" or "Sensor" or "EventBus").ToHashSet();
        foreach (var gone in _written.Keys.Where(k => !keys.Contains(k)).ToList()) _written.Remove(gone);
        foreach (var key in keys)
        {
            // With several replicas, an object's status is written by the replica that runs it: one waiting for
            // another's lease would otherwise overwrite the holder's conditions with its own view.
            if (key.Kind == "Sensor" && sensors.StatusOf(key.Namespace, key.Name) is { State: SensorState.Waiting, Message: { } waiting }
                && waiting.StartsWith(SensorHost.WaitingForLease, StringComparison.Ordinal)) continue;
            var conditions = key.Kind switch
            {
                "EventSource" => EventSourceConditions(key),
                "Sensor" => SensorConditions(key),
                _ => mirror.EventBus(key) is { } bus ? EventBusChoice.Conditions(bus, eventBus) : null,
            };
            if (conditions is null) continue;
            var previous = _written.GetValueOrDefault(key);
            var next = WithTransitionTimes(conditions, previous);
            if (previous is not null && JsonNode.DeepEquals(previous, next)) continue;
            try
            {
                var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = next.DeepClone() } };
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                    "argoproj.io", "v1alpha1", key.Namespace, key.Kind switch { "EventSource" => "eventsources", "Sensor" => "sensors", _ => "eventbus" }, key.Name, cancellationToken: ct).ConfigureAwait(false);
                _written[key] = next;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                _written.Remove(key); // deleted meanwhile: the mirror hears of it next
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
            {
                LogWriteFailed(log, key.Kind, key.Namespace, key.Name, e.Message); // the next pass retries
            }
        }
    }

    /// <summary>Conditions sorted by type, as Argo's SetCondition keeps them; an unchanged condition keeps its time.</summary>
    private JsonArray WithTransitionTimes(IEnumerable<Condition> conditions, JsonArray? previous)
    {
        var result = new JsonArray();
        foreach (var c in conditions.OrderBy(c => c.Type, StringComparer.Ordinal))
        {
            var old = previous?.OfType<JsonObject>().FirstOrDefault(o => o["type"]?.GetValue<string>() == c.Type);
            var same = old is not null && old["status"]?.GetValue<string>() == c.Status && old["reason"]?.GetValue<string>() == c.Reason
                && old["message"]?.GetValue<string>() == c.Message;
            var o = new JsonObject
            {
                ["type"] = c.Type,
                ["status"] = c.Status,
                ["lastTransitionTime"] = same ? old!["lastTransitionTime"]!.DeepClone() : time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            };
            if (c.Reason is not null) o["reason"] = c.Reason;
            if (c.Message is not null) o["message"] = c.Message;
            result.Add(o);
        }
        return result;
    }

    private static string Describe(IEnumerable<ManifestError> errors) =>
        string.Join("; ", errors.Select(e => string.IsNullOrEmpty(e.Path) ? e.Reason : $"{e.Path}: {e.Reason}"));

    internal IReadOnlyList<Condition> EventSourceConditions(ClusterObjectMirror.ObjectKey key)
    {
        if (mirror.Refusals.TryGetValue(key, out var errors))
            return [new("SourcesProvided", "False", "InvalidEventSource", Describe(errors)), new("Deployed", "False", "InvalidEventSource", "not run: the spec is invalid")];
        var state = sources.StatusOf(key.Namespace, key.Name);
        if (state is { Error: { } error })
            return [new("SourcesProvided", "False", "InvalidEventSource", error), new("Deployed", "False", "InvalidEventSource", "not run: the spec is invalid")];
        var provided = new Condition("SourcesProvided", "True", null, null);
        if (state is not { Listeners: { Count: > 0 } listeners }) return [provided, new("Deployed", "Unknown", "Starting", null)];
        if (listeners.FirstOrDefault(l => l.State == ListenerState.Failed) is { } failed)
            return [provided, new("Deployed", "False", "ListenerFailed", $"{failed.Type}/{failed.EventName}: {failed.Message}")];
        // Standby: another replica holds this listener's lease and runs it, so the EventSource is deployed (there).
        return listeners.All(l => l.State is ListenerState.Listening or ListenerState.Standby)
            ? [provided, new("Deployed", "True", null, null)]
            : [provided, new("Deployed", "Unknown", "Starting", null)];
    }

    internal IReadOnlyList<Condition> SensorConditions(ClusterObjectMirror.ObjectKey key)
    {
        if (mirror.Refusals.TryGetValue(key, out var errors))
        {
            var deps = errors.Where(e => e.Path.StartsWith("spec.dependencies", StringComparison.Ordinal)).ToList();
            var triggers = errors.Where(e => e.Path.StartsWith("spec.triggers", StringComparison.Ordinal)).ToList();
            var other = errors.Except(deps).Except(triggers).ToList();
            return
            [
                deps.Count > 0 ? new("DependenciesProvided", "False", "InvalidDependencies", Describe(deps)) : new("DependenciesProvided", "True", null, null),
                triggers.Count > 0 ? new("TriggersProvided", "False", "InvalidTriggers", Describe(triggers)) : new("TriggersProvided", "True", null, null),
                new("Deployed", "False", "InvalidSensor", other.Count > 0 ? Describe(other) : "not run: the spec is invalid"),
            ];
        }
        var s = sensors.StatusOf(key.Namespace, key.Name);
        Condition deployed = s?.State switch
        {
            SensorState.Running => new("Deployed", "True", null, null),
            SensorState.Waiting => new("Deployed", "True", "Waiting", s.Message),
            SensorState.Refused => new("Deployed", "False", "InvalidSensor", s.Message),
            SensorState.Failed => new("Deployed", "False", "SensorFailed", s.Message),
            _ => new("Deployed", "Unknown", "Starting", null),
        };
        return [new("DependenciesProvided", "True", null, null), new("TriggersProvided", "True", null, null), deployed];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: writing the status of {Kind} {Namespace}/{Name} failed: {Error}; retrying")]
    private static partial void LogWriteFailed(ILogger log, string kind, string @namespace, string name, string error);
}
