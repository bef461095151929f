using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using EventGateway.Workflows.Cluster;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// <see cref="IClusterObjects"/> through KubernetesClient's dynamic (custom objects) API, for every kind: built-in kinds
/// of the core group go through it too, their <c>/apis//v1</c> paths mended to <c>/api/v1</c> by
/// <see cref="CoreGroupPaths"/>. Discovery documents (<c>/api/v1</c>, <c>/apis/GROUP/VERSION</c>) are read once per
/// group/version and cached; a kind the cache lacks refreshes its group/version once (a CRD installed since).
/// </summary>
public sealed class KubernetesObjects(k8s.Kubernetes client, TimeProvider time) : IClusterObjects
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<ClusterResource>> _discovery = new(StringComparer.Ordinal);

    /// <summary>Two cuts in a row without an event in between: wait this long before watching again (a server closing on us).</summary>
    public static readonly TimeSpan WatchRetry = TimeSpan.FromSeconds(1);

    public async Task<ClusterResource> ResolveAsync(string apiVersion, string kind, CancellationToken ct)
    {
        if (_discovery.TryGetValue(apiVersion, out var known) && Find(known, kind) is { } hit) return hit;
        var fresh = await DiscoverAsync(apiVersion, ct).ConfigureAwait(false);
        _discovery[apiVersion] = fresh;
        return Find(fresh, kind)
            ?? throw new ClusterApiException(404, "NotFound", $"the cluster serves no kind {kind} in {apiVersion} (discovery lists {(fresh.Count == 0 ? "nothing" : string.Join(", ", fresh.Select(r => r.Kind)))}): is its CRD installed?");
    }

    /// <summary>By kind; failing that as kubectl takes a resource on its command line (configmap, configmaps).</summary>
    private static ClusterResource? Find(IReadOnlyList<ClusterResource> resources, string kind) =>
        resources.FirstOrDefault(r => r.Kind == kind)
        ?? resources.FirstOrDefault(r => string.Equals(r.Kind, kind, StringComparison.OrdinalIgnoreCase) || string.Equals(r.Plural, kind, StringComparison.OrdinalIgnoreCase));

    private async Task<IReadOnlyList<ClusterResource>> DiscoverAsync(string apiVersion, CancellationToken ct)
    {
        var path = apiVersion.Contains('/', StringComparison.Ordinal) ? $"apis/{apiVersion}" : $"api/{apiVersion}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri.ToString().TrimEnd('/') + "/" + path));
        if (client.Credentials is { } credentials) await credentials.ProcessHttpRequestAsync(request, ct).ConfigureAwait(false);
        using var response = await client.HttpClient.SendAsync(request, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return [];
        if (!response.IsSuccessStatusCode) throw Refusal((int)response.StatusCode, body, response.ReasonPhrase);
        var list = JsonNode.Parse(body)?["resources"] as JsonArray ?? [];
        return list.OfType<JsonObject>()
            .Where(r => r["name"]?.GetValue<string>() is { } n && !n.Contains('/', StringComparison.Ordinal)) // subresources: pods/log, jobs/status
            .Select(r => new ClusterResource(apiVersion, r["kind"]!.GetValue<string>(), r["name"]!.GetValue<string>(), r["namespaced"]?.GetValue<bool>() == true))
            .ToList();
    }

    public async Task<JsonObject?> GetAsync(ClusterResource type, string? ns, string name, CancellationToken ct)
    {
        try
        {
            var o = type.Namespaced
                ? await client.CustomObjects.GetNamespacedCustomObjectAsync(type.Group, type.Version, ns, type.Plural, name, ct).ConfigureAwait(false)
                : await client.CustomObjects.GetClusterCustomObjectAsync(type.Group, type.Version, type.Plural, name, ct).ConfigureAwait(false);
            return Complete(type, o);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e) { throw Refusal(e); }
    }

    public async Task<JsonObject> CreateAsync(ClusterResource type, string? ns, JsonObject obj, CancellationToken ct)
    {
        try
        {
            var o = type.Namespaced
                ? await client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, type.Group, type.Version, ns, type.Plural, cancellationToken: ct).ConfigureAwait(false)
                : await client.CustomObjects.CreateClusterCustomObjectAsync(obj, type.Group, type.Version, type.Plural, cancellationToken: ct).ConfigureAwait(false);
            return Complete(type, o);
        }
        catch (HttpOperationException e) { throw Refusal(e); }
    }

    public async Task<JsonObject> ReplaceAsync(ClusterResource type, string? ns, string name, JsonObject obj, CancellationToken ct)
    {
        try
        {
            var o = type.Namespaced
                ? await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(obj, type.Group, type.Version, ns, type.Plural, name, cancellationToken: ct).ConfigureAwait(false)
                : await client.CustomObjects.ReplaceClusterCustomObjectAsync(obj, type.Group, type.Version, type.Plural, name, cancellationToken: ct).ConfigureAwait(false);
            return Complete(type, o);
        }
        catch (HttpOperationException e) { throw Refusal(e); }
    }

    public async Task<JsonObject> PatchAsync(ClusterResource type, string? ns, string name, JsonNode patch, ClusterPatch how, CancellationToken ct)
    {
        var body = new V1Patch(patch, how switch
        {
            ClusterPatch.Json => V1Patch.PatchType.JsonPatch,
            ClusterPatch.StrategicMerge => V1Patch.PatchType.StrategicMergePatch,
            _ => V1Patch.PatchType.MergePatch,
        });
        try
        {
            var o = type.Namespaced
                ? await client.CustomObjects.PatchNamespacedCustomObjectAsync(body, type.Group, type.Version, ns, type.Plural, name, cancellationToken: ct).ConfigureAwait(false)
                : await client.CustomObjects.PatchClusterCustomObjectAsync(body, type.Group, type.Version, type.Plural, name, cancellationToken: ct).ConfigureAwait(false);
            return Complete(type, o);
        }
        catch (HttpOperationException e) { throw Refusal(e); }
    }

    public async Task<bool> DeleteAsync(ClusterResource type, string? ns, string name, CancellationToken ct)
    {
        try
        {
            // Background propagation, as kubectl: the object goes now, what it owns (a Job's pods) after it.
            var options = new V1DeleteOptions { PropagationPolicy = "Background" };
            if (type.Namespaced) await client.CustomObjects.DeleteNamespacedCustomObjectAsync(type.Group, type.Version, ns, type.Plural, name, options, cancellationToken: ct).ConfigureAwait(false);
            else await client.CustomObjects.DeleteClusterCustomObjectAsync(type.Group, type.Version, type.Plural, name, options, cancellationToken: ct).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (HttpOperationException e) { throw Refusal(e); }
    }

    public async IAsyncEnumerable<JsonObject?> WatchAsync(ClusterResource type, string? ns, string name, [EnumeratorCancellation] CancellationToken ct)
    {
        string? rv = null;
        var cutsWithoutEvents = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (rv is null)
            {
                // (Re)start: the object as it is now; the watch then goes on from its resourceVersion ("" when it is
                // missing: the server then sends it as ADDED once it appears).
                var current = await GetAsync(type, ns, name, ct).ConfigureAwait(false);
                rv = current?["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "";
                yield return current;
            }
            var gone = false;
            Exception? streamError = null;
            var source = type.Namespaced
                ? client.CustomObjects.WatchListNamespacedCustomObjectAsync(type.Group, type.Version, ns, type.Plural, allowWatchBookmarks: true,
                    fieldSelector: $"metadata.name={name}", resourceVersion: rv, timeoutSeconds: ClusterKind.WatchTimeoutSeconds, onError: OnError, cancellationToken: ct)
                : client.CustomObjects.WatchListClusterCustomObjectAsync(type.Group, type.Version, type.Plural, allowWatchBookmarks: true,
                    fieldSelector: $"metadata.name={name}", resourceVersion: rv, timeoutSeconds: ClusterKind.WatchTimeoutSeconds, onError: OnError, cancellationToken: ct);
            var events = source.GetAsyncEnumerator(ct);
            var cut = false;
            try
            {
                while (true)
                {
                    (WatchEventType Type, object Object) item;
                    try
                    {
                        if (!await events.MoveNextAsync().ConfigureAwait(false)) break;
                        item = events.Current;
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
                    {
                        cut = true; // resumed below from the last resourceVersion
                        break;
                    }
                    catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
                    {
                        gone = true;
                        break;
                    }
                    catch (HttpOperationException e) { throw Refusal(e); }
                    cutsWithoutEvents = 0;
                    var obj = Complete(type, item.Object);
                    if (obj["metadata"]?["resourceVersion"]?.GetValue<string>() is { Length: > 0 } next) rv = next;
                    switch (item.Type)
                    {
                        case WatchEventType.Added or WatchEventType.Modified: yield return obj; break;
                        case WatchEventType.Deleted: yield return null; break;
                    }
                }
            }
            finally
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }
            if (gone) rv = null; // history compacted: read the object again
            else if (streamError is not null) throw streamError is ClusterApiException ? streamError : new ClusterApiException(0, "WatchFailed", streamError.Message, streamError);
            else if (cut && ++cutsWithoutEvents > 1) await Task.Delay(WatchRetry, time, ct).ConfigureAwait(false);

            void OnError(Exception e)
            {
                if (e is KubernetesException { Status.Code: (int)HttpStatusCode.Gone }) gone = true;
                else streamError = e is KubernetesException k ? new ClusterApiException(k.Status?.Code ?? 0, k.Status?.Reason ?? "Error", k.Status?.Message ?? k.Message, k) : e;
            }
        }
    }

    /// <summary>Items come back as JSON elements; built-in kinds may lack apiVersion and kind, set here.</summary>
    private static JsonObject Complete(ClusterResource type, object? o)
    {
        var node = o is JsonElement e ? JsonNode.Parse(e.GetRawText()) : JsonSerializer.SerializeToNode(o);
        var obj = node as JsonObject ?? throw new ClusterApiException(0, "BadResponse", $"{type}: the API server answered with something other than an object");
        obj["apiVersion"] ??= type.ApiVersion;
        obj["kind"] ??= type.Kind;
        return obj;
    }

    private static ClusterApiException Refusal(HttpOperationException e) =>
        Refusal((int)e.Response.StatusCode, e.Response.Content, e.Response.ReasonPhrase, e);

    /// <summary>The Status the API server sent (its message and reason), or the bare HTTP status when the body is not one.</summary>
    private static ClusterApiException Refusal(int code, string? body, string? phrase, Exception? inner = null)
    {
        try
        {
            if (body is { Length: > 0 } && JsonNode.Parse(body) is JsonObject { } status && status["message"]?.GetValue<string>() is { } message)
                return new ClusterApiException(code, status["reason"]?.GetValue<string>() ?? phrase ?? "", message, inner);
        }
        catch (JsonException) { }
        return new ClusterApiException(code, phrase ?? "", string.IsNullOrEmpty(body) ? $"HTTP {code}" : body, inner);
    }
}

/// <summary>
/// The custom-objects API builds <c>/apis/GROUP/VERSION/…</c>; for the core group (no name) that is <c>/apis//v1/…</c>,
/// which the API server serves at <c>/api/v1/…</c>. Mending the path lets one dynamic API reach every kind.
/// </summary>
public sealed class CoreGroupPaths : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && uri.AbsolutePath.Contains("/apis//", StringComparison.Ordinal))
            request.RequestUri = new UriBuilder(uri) { Path = uri.AbsolutePath.Replace("/apis//", "/api/", StringComparison.Ordinal) }.Uri;
        return base.SendAsync(request, cancellationToken);
    }
}
