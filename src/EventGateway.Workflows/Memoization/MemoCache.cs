using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Memoization;

/// <summary>
/// Argo's ConfigMap memoization cache, over the resource store. The controller asks it before a memoized step
/// runs (a hit is the step's result and nothing runs) and after the step succeeded (its outputs are stored under
/// the key, in Argo's entry format, before the result is posted: a workflow started after this one finished sees
/// the entry). Only ConfigMaps labelled <c>workflows.argoproj.io/configmap-type: Cache</c> are used, as in Argo;
/// one that does not exist is created with the label, and an unlabelled one is adopted only while it is empty
/// (the seed's own <c>build-cache</c> is created that way) so no other ConfigMap's data is ever touched.
/// </summary>
/// <remarks>
/// Memoize is honoured on container and script templates, the ones that run through the controller's pod path.
/// Steps and DAG templates are refused at load (see WorkflowValidator): the pure operator would have to wait for a
/// lookup before expanding its children and then ask the controller to store its outputs, a second request channel
/// for one corner of Argo.
/// </remarks>
public sealed partial class MemoCache(IResourceStore store, TimeProvider time, ILogger log)
{
    public const string TypeLabel = "workflows.argoproj.io/configmap-type";
    public const string CacheType = "Cache";

    /// <summary>Kubernetes caps a ConfigMap's data at 1 MiB: the bytes of every key and value together.</summary>
    public const int MaxConfigMapBytes = 1024 * 1024;

    /// <summary>Attempts at writing an entry while writers outside this process keep changing the ConfigMap.</summary>
    private const int MaxAttempts = 8;

    // Steps of this process that store into one cache take turns (Argo's controller locks each cache too), so
    // the retry on a conflict is only for writers elsewhere (egw apply, another replica). Striped: bounded
    // however many caches there are.
    private readonly SemaphoreSlim[] _writers = [.. Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1))];

    public const string KeyRule = "letters, digits and '-', starting with a letter or digit, at most 253 characters";

    /// <summary>Argo's cache key rule (a subset of what a ConfigMap key may be), with Kubernetes' length cap.</summary>
    public static bool IsValidKey(string key) => key.Length <= 253 && KeyPattern().IsMatch(key);

    /// <summary>
    /// Looks a memoized step's key up. A live entry is the step's result (Succeeded with the cached outputs); an
    /// unusable cache (bad key or maxAge, a ConfigMap that is not a cache, a malformed entry) fails the step with
    /// Error as in Argo; a miss returns null and the step runs.
    /// </summary>
    public async Task<PodResult?> LookUpAsync(string ns, PodRequest pod, CancellationToken ct)
    {
        var memo = pod.Template.Memoize!;
        var (key, cacheName) = (memo.Key ?? "", memo.Cache?.ConfigMap?.Name ?? "");
        var now = time.GetUtcNow();
        PodResult Error(string message) => new(pod.NodeId, NodePhase.Error, message, null, null, now, now);

        if (!IsValidKey(key)) return Error($"invalid cache key '{key}': {KeyRule}");
        TimeSpan? maxAge = null;
        if (memo.MaxAge is { Length: > 0 } text)
        {
            if (!Durations.TryParse(text, out var age)) return Error($"invalid maxAge '{text}': not a duration like 180s or 24h");
            maxAge = age;
        }

        var cm = await store.GetAsync<ConfigMap>(ns, cacheName, ct).ConfigureAwait(false);
        if (cm is null) return null;
        if (Refusal(cm) is { } refused) return Error(refused);
        if (cm.Data?.GetValueOrDefault(key) is not { Length: > 0 } raw) return null;
        Entry? entry;
        try { entry = JsonSerializer.Deserialize<Entry>(raw, Json.Lenient); }
        catch (JsonException e) { return Error($"malformed cache entry '{key}' in ConfigMap '{cacheName}': {e.Message}"); }
        if (entry is not { NodeID.Length: > 0 }) return null;
        if (maxAge is { } max && now - entry.CreationTimestamp > max)
        {
            LogExpired(log, ns, cacheName, key);
            return null;
        }

        await TouchAsync(cm, key, entry, now, ct).ConfigureAwait(false);
        LogHit(log, ns, cacheName, key, entry.NodeID);
        var outputs = entry.Outputs;
        int? exitCode = int.TryParse(outputs?.ExitCode, CultureInfo.InvariantCulture, out var code) ? code : null;
        return new PodResult(pod.NodeId, NodePhase.Succeeded, null, exitCode, outputs, now, now,
            new MemoizationStatus { Hit = true, Key = key, CacheName = cacheName });
    }

    /// <summary>
    /// After a memoized step ran: a success is stored under its key; what is not stored (over the 1 MiB limit, a
    /// ConfigMap that is not a cache) leaves the step Succeeded and says why in its message. Every result of a
    /// step that missed the cache carries <c>memoizationStatus.hit = false</c>.
    /// </summary>
    public async Task<PodResult> RecordAsync(string ns, PodRequest pod, PodResult result, CancellationToken ct)
    {
        var memo = pod.Template.Memoize!;
        var status = new MemoizationStatus { Key = memo.Key ?? "", CacheName = memo.Cache?.ConfigMap?.Name ?? "" };
        result = result with { Memoization = status };
        if (result.Phase != NodePhase.Succeeded) return result;
        var problem = await SaveAsync(ns, status.CacheName, status.Key, pod.NodeId, result.Outputs, ct).ConfigureAwait(false);
        if (problem is null) return result;
        LogNotStored(log, ns, status.CacheName, status.Key, problem);
        return result with { Message = $"not memoized: {problem}" };
    }

    /// <summary>Writes the entry, retrying when another writer changed the ConfigMap meanwhile; returns why it was not written.</summary>
    private async Task<string?> SaveAsync(string ns, string cacheName, string key, string nodeId, Outputs? outputs, CancellationToken ct)
    {
        var writer = _writers[(uint)StringComparer.Ordinal.GetHashCode($"{ns}/{cacheName}") % (uint)_writers.Length];
        await writer.WaitAsync(ct).ConfigureAwait(false);
        try { return await WriteAsync(ns, cacheName, key, nodeId, outputs, ct).ConfigureAwait(false); }
        finally { writer.Release(); }
    }

    private async Task<string?> WriteAsync(string ns, string cacheName, string key, string nodeId, Outputs? outputs, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var value = JsonSerializer.Serialize(new Entry(nodeId, outputs, now, now), Json.Options);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var cm = await store.GetAsync<ConfigMap>(ns, cacheName, ct).ConfigureAwait(false);
            var creating = cm is null;
            cm ??= new ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new ObjectMeta { Name = cacheName, Namespace = ns } };
            if (Refusal(cm) is { } refused) return refused;
            if (cm.Immutable == true) return $"ConfigMap '{cacheName}' is immutable";
            var size = DataBytes(cm) - Bytes(key, cm.Data?.GetValueOrDefault(key)) + Bytes(key, value);
            if (size > MaxConfigMapBytes)
                return $"the entry for key '{key}' ({Bytes(key, value)} bytes) would make ConfigMap '{cacheName}' {size} bytes, over the 1 MiB (1048576 bytes) ConfigMap limit";

            (cm.Metadata.Labels ??= new(StringComparer.Ordinal))[TypeLabel] = CacheType;
            (cm.Data ??= new(StringComparer.Ordinal))[key] = value;
            try
            {
                if (creating) await store.CreateAsync(cm, ct).ConfigureAwait(false);
                else await store.UpdateAsync(cm, ct).ConfigureAwait(false);
                return null;
            }
            catch (ConflictException) { } // someone else wrote (or created) it first: read theirs and try again
        }
        return $"ConfigMap '{cacheName}' kept changing while the entry was written ({MaxAttempts} attempts)";
    }

    /// <summary>Records the hit on the entry, as Argo does. Best effort: a concurrent writer wins, the hit stands.</summary>
    private async Task TouchAsync(ConfigMap cm, string key, Entry entry, DateTimeOffset now, CancellationToken ct)
    {
        if (cm.Immutable == true) return;
        cm.Data![key] = JsonSerializer.Serialize(entry with { LastHitTimestamp = now }, Json.Options);
        if (DataBytes(cm) > MaxConfigMapBytes) return;
        try { await store.UpdateAsync(cm, ct).ConfigureAwait(false); }
        catch (ConflictException) { }
    }

    /// <summary>Argo uses only ConfigMaps labelled as caches; an empty unlabelled one holds nothing to protect.</summary>
    private static string? Refusal(ConfigMap cm)
    {
        var label = cm.Metadata.Labels?.GetValueOrDefault(TypeLabel);
        if (label == CacheType || label is null && cm.Data is not { Count: > 0 } && cm.BinaryData is not { Count: > 0 }) return null;
        return $"memoization ConfigMap '{cm.Name}' does not have the label {TypeLabel}={CacheType}, refusing to use it";
    }

    /// <summary>The size Kubernetes checks against the limit: every key and value, in bytes (binaryData as stored, base64).</summary>
    private static long DataBytes(ConfigMap cm) =>
        (cm.Data ?? []).Sum(p => (long)Bytes(p.Key, p.Value)) + (cm.BinaryData ?? []).Sum(p => (long)Bytes(p.Key, p.Value));

    private static int Bytes(string key, string? value) => value is null ? 0 : Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);

    /// <summary>One cache entry, in Argo's JSON shape.</summary>
    private sealed record Entry(
        [property: JsonPropertyName("nodeID")] string NodeID,
        Outputs? Outputs,
        DateTimeOffset CreationTimestamp,
        DateTimeOffset LastHitTimestamp);

    [GeneratedRegex("^[a-zA-Z0-9][-a-zA-Z0-9]*$")]
    private static partial Regex KeyPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "memoization cache hit in {Namespace}/{Cache} for key {Key} (stored by node {NodeId})")]
    private static partial void LogHit(ILogger log, string @namespace, string cache, string key, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "memoization cache entry in {Namespace}/{Cache} for key {Key} is older than maxAge: a miss")]
    private static partial void LogExpired(ILogger log, string @namespace, string cache, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "memoization cache {Namespace}/{Cache}: outputs for key {Key} not stored: {Problem}")]
    private static partial void LogNotStored(ILogger log, string @namespace, string cache, string key, string problem);
}
