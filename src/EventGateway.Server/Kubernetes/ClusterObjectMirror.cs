using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// <c>egw serve --kubernetes</c>: the cluster is the source of truth for the kinds of <see cref="ClusterKind.Mirrored"/>.
/// Each kind is listed, then watched from the list's resourceVersion (bookmarks move it on); a watch that ends is
/// resumed from the last resourceVersion without a re-list; a 410 Gone (history compacted) re-lists, and objects the
/// re-list no longer has are deleted here; any other failure backs off (1 s doubling to 30 s) and says so in the log
/// and in <see cref="Health"/>. Objects reach the store the way manifests from files do (validated by the same reader,
/// applied whole), marked with <see cref="Annotations.KubernetesObject"/>; what the store holds of these kinds that the
/// cluster does not (left by an earlier run without --kubernetes) is deleted at the first list, with a warning; an object the reader refuses is kept out
/// (and stopped if it ran) with its reasons in <see cref="Refusals"/>, which the status writer reports on the object.
/// </summary>
public sealed partial class ClusterObjectMirror(
    IKubernetes client,
    IResourceStore store,
    TimeProvider time,
    ILogger<ClusterObjectMirror> log,
    IReadOnlyList<ClusterKind>? kinds = null,
    int pageSize = ClusterKind.DefaultPageSize) : BackgroundService
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Where one kind's list+watch stands.</summary>
    public sealed record KindHealth(bool Synced, string ResourceVersion, int Lists, int Watches, int Failures, string? LastError);

    public readonly record struct ObjectKey(string Kind, string Namespace, string Name);

    private readonly IReadOnlyList<ClusterKind> _kinds = kinds ?? ClusterKind.Mirrored;
    private readonly ConcurrentDictionary<string, KindHealth> _health = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ObjectKey, string> _fingerprints = new();
    private readonly ConcurrentDictionary<ObjectKey, IReadOnlyList<ManifestError>> _refusals = new();
    private readonly ConcurrentDictionary<ObjectKey, JsonObject> _eventBuses = new();

    /// <summary>Per kind (by Kubernetes kind name): synced or not, where its watch is, and the last error.</summary>
    public IReadOnlyDictionary<string, KindHealth> Health => _health;

    /// <summary>Cluster objects the reader refused, with every reason; gone once fixed or deleted.</summary>
    public IReadOnlyDictionary<ObjectKey, IReadOnlyList<ManifestError>> Refusals => _refusals;

    /// <summary>Every cluster object this mirror holds (applied, refused or, for EventBus, remembered).</summary>
    public IReadOnlyCollection<ObjectKey> Objects => _fingerprints.Keys.ToList();

    /// <summary>EventBus objects in the cluster (the service's own bus is <c>--event-bus</c>; each says on its status whether it is that one: <see cref="EventBusChoice"/>).</summary>
    public IReadOnlyCollection<JsonObject> EventBuses => _eventBuses.Values.ToList();

    /// <summary>The EventBus object of the cluster under <paramref name="key"/>, as last read; null when none.</summary>
    public JsonObject? EventBus(ObjectKey key) => _eventBuses.TryGetValue(key, out var bus) ? bus : null;

    /// <summary>Raised after an object of the cluster was applied, deleted or refused here (the status writer listens).</summary>
    public event Action<ObjectKey>? Changed;

    /// <summary>True once every kind has been listed at least once.</summary>
    public bool Synced => _kinds.All(k => _health.TryGetValue(k.Kind, out var h) && h.Synced);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_kinds.Select(k => Task.Run(() => RunAsync(k, stoppingToken), CancellationToken.None)));

    private async Task RunAsync(ClusterKind kind, CancellationToken ct)
    {
        string? rv = null;
        var backoff = InitialBackoff;
        var cutsWithoutEvents = 0;
        var health = new KindHealth(false, "", 0, 0, 0, null);
        _health[kind.Kind] = health;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (rv is null)
                {
                    var (items, listRv) = await kind.ListAsync(client, ct, pageSize).ConfigureAwait(false);
                    await ReplaceAllAsync(kind, items, ct).ConfigureAwait(false);
                    rv = listRv;
                    _health[kind.Kind] = health = health with { Synced = true, ResourceVersion = rv, Lists = health.Lists + 1 };
                    LogListed(log, kind.ToString(), items.Count, rv);
                    Answered(kind, rv, ref health, ref backoff);
                }
                Exception? streamError = null;
                var gone = false;
                var stream = kind.WatchAsync(client, rv, e =>
                {
                    if (e is KubernetesException { Status.Code: (int)HttpStatusCode.Gone }) gone = true;
                    else streamError = e;
                }, ct);
                _health[kind.Kind] = health = health with { Watches = health.Watches + 1 };
                var delivered = 0;
                try
                {
                    await foreach (var (type, obj) in stream.ConfigureAwait(false))
                    {
                        if (delivered++ == 0) Answered(kind, rv, ref health, ref backoff);
                        cutsWithoutEvents = 0;
                        if (obj["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 } next) rv = next;
                        switch (type)
                        {
                            case WatchEventType.Added or WatchEventType.Modified: await ApplyAsync(kind, obj, ct).ConfigureAwait(false); break;
                            case WatchEventType.Deleted: await DeleteAsync(KeyOf(kind, obj), ct).ConfigureAwait(false); break;
                            // BOOKMARK: only its resourceVersion matters, taken above.
                        }
                        _health[kind.Kind] = health = health with { ResourceVersion = rv };
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException { InnerException: IOException } && !ct.IsCancellationRequested)
                {
                    // The connection was cut mid-stream: resume from the last resourceVersion at once (twice in a row
                    // without an event in between is a server closing on us: back off instead of spinning).
                    if (delivered == 0 && ++cutsWithoutEvents > 1) throw;
                    LogWatchCut(log, kind.ToString(), rv, e.Message);
                    continue;
                }
                if (delivered == 0 && !gone && streamError is null) Answered(kind, rv, ref health, ref backoff); // a quiet watch that ended on time
                if (gone)
                {
                    LogExpired(log, kind.ToString(), rv);
                    rv = null; // the history we would resume from is gone: list again
                    continue;
                }
                if (streamError is not null) throw streamError;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                LogExpired(log, kind.ToString(), rv);
                rv = null;
            }
            catch (Exception e)
            {
                var message = e is HttpOperationException h ? $"{(int)h.Response.StatusCode} {Reason(h)}" : e.Message;
                _health[kind.Kind] = health = health with { Failures = health.Failures + 1, LastError = message };
                LogFailed(log, kind.ToString(), message, backoff.TotalSeconds);
                try { await Task.Delay(backoff, time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>The server answered: the next failure backs off from the start again, and a past error is cleared.</summary>
    private void Answered(ClusterKind kind, string? rv, ref KindHealth health, ref TimeSpan backoff)
    {
        backoff = InitialBackoff;
        if (health.LastError is null) return;
        LogRecovered(log, kind.ToString(), rv);
        _health[kind.Kind] = health = health with { LastError = null };
    }

    private static string Reason(HttpOperationException e)
    {
        try { return JsonNode.Parse(e.Response.Content)?["message"]?.GetValue<string>() ?? e.Response.ReasonPhrase ?? ""; }
        catch (System.Text.Json.JsonException) { return e.Response.ReasonPhrase ?? ""; }
    }

    private static ObjectKey KeyOf(ClusterKind kind, JsonObject obj) => new(kind.Kind,
        kind.Namespaced ? obj["metadata"]?["namespace"]?.GetValue<string>() ?? "" : "",
        obj["metadata"]?["name"]?.GetValue<string>() ?? "");

    /// <summary>After a list: apply every object, and delete what this mirror put in the store that the cluster no longer has.</summary>
    private async Task ReplaceAllAsync(ClusterKind kind, IReadOnlyList<JsonObject> items, CancellationToken ct)
    {
        var present = new HashSet<ObjectKey>();
        foreach (var item in items)
        {
            present.Add(KeyOf(kind, item));
            await ApplyAsync(kind, item, ct).ConfigureAwait(false);
        }
        var known = new HashSet<ObjectKey>(_fingerprints.Keys.Concat(_refusals.Keys).Concat(_eventBuses.Keys).Where(k => k.Kind == kind.Kind));
        // Everything of the kind in the store, not only what came from the cluster: in this mode the cluster is the
        // source of truth, so an object left by an earlier run (files, the API) would otherwise run unseen by kubectl.
        if (StoreKind.All.TryGetValue(kind.Kind, out var sk))
            foreach (var r in await sk.List(store, null!, ct).ConfigureAwait(false))
            {
                var key = new ObjectKey(kind.Kind, Resources.IsClusterScoped(kind.Kind) ? "" : r.NamespaceOrDefault, r.Name);
                if (known.Add(key) && !present.Contains(key) && r.Metadata.Annotations?.ContainsKey(Annotations.KubernetesObject) != true)
                    LogNotInCluster(log, kind.Kind, key.Namespace, key.Name);
            }
        foreach (var gone in known.Where(k => !present.Contains(k)))
            await DeleteAsync(gone, ct).ConfigureAwait(false);
    }

    private async Task ApplyAsync(ClusterKind kind, JsonObject obj, CancellationToken ct)
    {
        var key = KeyOf(kind, obj);
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("status"); // the service writes its own status back; the cluster's is not input
        if (copy["metadata"] is JsonObject meta)
        {
            // Volatile fields change on every write (our own status writes too): not a reason to restart anything.
            foreach (var f in new[] { "resourceVersion", "managedFields", "generation", "uid", "creationTimestamp" }) meta.Remove(f);
            (meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject()))[Annotations.KubernetesObject] = kind.ToString();
        }
        var fingerprint = copy.ToJsonString();
        if (_fingerprints.TryGetValue(key, out var known) && known == fingerprint) return;
        if (!StoreKind.All.ContainsKey(kind.Kind))
        {
            _eventBuses[key] = obj;
            _fingerprints[key] = fingerprint;
            LogApplied(log, kind.Kind, key.Namespace, key.Name);
            Changed?.Invoke(key); // its status says whether it is the bus in use
            return;
        }
        Resource resource;
        try
        {
            resource = ManifestReader.ClusterParser.ReadJson(copy, $"kubernetes:{kind}/{(key.Namespace.Length > 0 ? key.Namespace + "/" : "")}{key.Name}");
        }
        catch (ManifestException e)
        {
            // Refused: nothing of it runs (a previous version is stopped: the cluster no longer asks for it).
            _refusals[key] = e.Errors;
            _fingerprints[key] = fingerprint;
            await StoreKind.All[kind.Kind].Delete(store, key.Namespace, key.Name, ct).ConfigureAwait(false);
            LogRefused(log, kind.Kind, key.Namespace, key.Name, string.Join("; ", e.Errors.Select(x => string.IsNullOrEmpty(x.Path) ? x.Reason : $"{x.Path}: {x.Reason}")));
            Changed?.Invoke(key);
            return;
        }
        await store.ApplyAsync(resource, ct).ConfigureAwait(false);
        _refusals.TryRemove(key, out _);
        _fingerprints[key] = fingerprint;
        LogApplied(log, kind.Kind, key.Namespace, key.Name);
        Changed?.Invoke(key);
    }

    private async Task DeleteAsync(ObjectKey key, CancellationToken ct)
    {
        _fingerprints.TryRemove(key, out _);
        _refusals.TryRemove(key, out _);
        _eventBuses.TryRemove(key, out _);
        if (StoreKind.All.TryGetValue(key.Kind, out var sk)) await sk.Delete(store, key.Namespace, key.Name, ct).ConfigureAwait(false);
        LogDeleted(log, key.Kind, key.Namespace, key.Name);
        Changed?.Invoke(key);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: deleting {Kind} {Namespace}/{Name}: stored by an earlier run but not in the cluster, which is the source of this kind with --kubernetes")]
    private static partial void LogNotInCluster(ILogger log, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: listed {Count} {Resource} at resourceVersion {ResourceVersion}")]
    private static partial void LogListed(ILogger log, string resource, int count, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: applied {Kind} {Namespace}/{Name} from the cluster")]
    private static partial void LogApplied(ILogger log, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: deleted {Kind} {Namespace}/{Name} (gone from the cluster)")]
    private static partial void LogDeleted(ILogger log, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: refused {Kind} {Namespace}/{Name}: {Errors}")]
    private static partial void LogRefused(ILogger log, string kind, string @namespace, string name, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: watch of {Resource} expired at resourceVersion {ResourceVersion} (410 Gone): listing again")]
    private static partial void LogExpired(ILogger log, string resource, string? resourceVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: watch of {Resource} cut ({Reason}): resuming from resourceVersion {ResourceVersion}")]
    private static partial void LogWatchCut(ILogger log, string resource, string? resourceVersion, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: {Resource} from the API server failed: {Error}; retrying in {Seconds} s")]
    private static partial void LogFailed(ILogger log, string resource, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "kubernetes: {Resource} recovered, watching from resourceVersion {ResourceVersion}")]
    private static partial void LogRecovered(ILogger log, string resource, string? resourceVersion);
}
