using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// One kind read from the API server: how to list it and how to watch it from a resourceVersion, as JSON objects
/// with their apiVersion and kind set (list items of built-in kinds come without them). Argo's kinds go through the
/// custom-objects API; ConfigMap and Secret through the typed core API.
/// </summary>
public abstract class ClusterKind(string kind, string group, string version, string plural, bool namespaced)
{
    public string Kind { get; } = kind;
    public string Group { get; } = group;
    public string Version { get; } = version;
    public string Plural { get; } = plural;
    public bool Namespaced { get; } = namespaced;
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>plural.group, as the API server names a resource in its messages.</summary>
    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>
    /// A watch ends on the server side after this long, as client-go's reflector asks (5–10 min); the next watch
    /// resumes from the last resourceVersion, so nothing is lost and no connection lives forever.
    /// </summary>
    public const int WatchTimeoutSeconds = 300;

    /// <summary>Objects per list request, as client-go's reflector pages (500): a large cluster is not read in one response.</summary>
    public const int DefaultPageSize = 500;

    /// <summary>
    /// Every object of the kind in every namespace, read in pages of <paramref name="pageSize"/> (limit/continue), and
    /// the resourceVersion the list is at: every page is read at the first page's resourceVersion, so the pages make one
    /// consistent list and a watch from it misses nothing written meanwhile. A continue token that expired (compacted)
    /// throws 410 Gone like an expired watch: the caller lists again from the start.
    /// </summary>
    public async Task<(IReadOnlyList<JsonObject> Items, string ResourceVersion)> ListAsync(IKubernetes client, CancellationToken ct, int pageSize = DefaultPageSize)
    {
        var items = new List<JsonObject>();
        string? cont = null;
        while (true)
        {
            var (page, rv, next) = await ListPageAsync(client, pageSize, cont, ct).ConfigureAwait(false);
            items.AddRange(page);
            if (string.IsNullOrEmpty(next)) return (items, rv);
            cont = next;
        }
    }

    /// <summary>One page: its items, the list's resourceVersion, and the continue token of the next page (null on the last).</summary>
    protected abstract Task<(IReadOnlyList<JsonObject> Items, string ResourceVersion, string? Continue)> ListPageAsync(IKubernetes client, int limit, string? cont, CancellationToken ct);

    /// <summary>
    /// A watch from <paramref name="resourceVersion"/>, with bookmarks. A refused request throws at the first read
    /// (<see cref="HttpOperationException"/>, <see cref="HttpRequestException"/>); a connection cut later, an
    /// <see cref="IOException"/>.
    /// </summary>
    /// <param name="onError">Gets an ERROR event's Status (a <see cref="KubernetesException"/>, e.g. 410 Expired) or an unreadable line.</param>
    public abstract IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(IKubernetes client, string resourceVersion, Action<Exception> onError, CancellationToken ct);

    protected JsonObject Complete(JsonNode? node)
    {
        var o = node as JsonObject ?? throw new JsonException($"{this}: an item is not a JSON object");
        o["apiVersion"] ??= ApiVersion;
        o["kind"] ??= Kind;
        return o;
    }

    /// <summary>The kinds Kubernetes mode reads: Argo Events', Argo Workflows' stored kinds, and what they reference.</summary>
    public static IReadOnlyList<ClusterKind> Mirrored { get; } =
    [
        new Custom("EventSource", "eventsources", namespaced: true),
        new Custom("Sensor", "sensors", namespaced: true),
        new Custom("EventBus", "eventbus", namespaced: true),
        new Custom("WorkflowTemplate", "workflowtemplates", namespaced: true),
        new Custom("ClusterWorkflowTemplate", "clusterworkflowtemplates", namespaced: false),
        new Custom("CronWorkflow", "cronworkflows", namespaced: true),
        new Core<V1ConfigMap, V1ConfigMapList>("ConfigMap", "configmaps",
            (c, limit, cont, ct) => c.CoreV1.ListConfigMapForAllNamespacesAsync(continueParameter: cont, limit: limit, cancellationToken: ct),
            (c, rv, onError, ct) => c.CoreV1.WatchListConfigMapForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv,
                timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
            l => l.Metadata, l => l.Items),
        new Core<V1Secret, V1SecretList>("Secret", "secrets",
            (c, limit, cont, ct) => c.CoreV1.ListSecretForAllNamespacesAsync(continueParameter: cont, limit: limit, cancellationToken: ct),
            (c, rv, onError, ct) => c.CoreV1.WatchListSecretForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv,
                timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct),
            l => l.Metadata, l => l.Items),
    ];

    /// <summary>An argoproj.io/v1alpha1 kind (a CRD): items are JSON as the server sent them.</summary>
    private sealed class Custom(string kind, string plural, bool namespaced) : ClusterKind(kind, "argoproj.io", "v1alpha1", plural, namespaced)
    {
        protected override async Task<(IReadOnlyList<JsonObject>, string, string?)> ListPageAsync(IKubernetes client, int limit, string? cont, CancellationToken ct)
        {
            using var response = await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(Group, Version, Plural,
                continueParameter: cont, limit: limit, cancellationToken: ct).ConfigureAwait(false);
            var list = JsonNode.Parse(((JsonElement)response.Body).GetRawText()) as JsonObject ?? throw new JsonException($"{this}: the list is not a JSON object");
            var items = (list["items"] as JsonArray ?? []).Select(i => Complete(i?.DeepClone())).ToList();
            return (items, list["metadata"]?["resourceVersion"]?.GetValue<string>() ?? throw new JsonException($"{this}: the list has no metadata.resourceVersion"),
                list["metadata"]?["continue"]?.GetValue<string>());
        }

        public override async IAsyncEnumerable<(WatchEventType, JsonObject)> WatchAsync(IKubernetes client, string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
        {
            var source = client.CustomObjects.WatchListClusterCustomObjectAsync(Group, Version, Plural, allowWatchBookmarks: true,
                resourceVersion: resourceVersion, timeoutSeconds: WatchTimeoutSeconds, onError: onError, cancellationToken: ct);
            await foreach (var (type, obj) in source.WithCancellation(ct).ConfigureAwait(false))
                yield return (type, Complete(obj is JsonElement e ? JsonNode.Parse(e.GetRawText()) : JsonSerializer.SerializeToNode(obj)));
        }
    }

    /// <summary>A core/v1 kind through its typed calls; objects are turned into JSON as the API server would send them.</summary>
    private sealed class Core<T, TList>(string kind, string plural,
        Func<IKubernetes, int, string?, CancellationToken, Task<TList>> list,
        Func<IKubernetes, string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<TList, V1ListMeta> resourceVersionOf, Func<TList, IEnumerable<T>> itemsOf) : ClusterKind(kind, "", "v1", plural, namespaced: true)
    {
        protected override async Task<(IReadOnlyList<JsonObject>, string, string?)> ListPageAsync(IKubernetes client, int limit, string? cont, CancellationToken ct)
        {
            var body = await list(client, limit, cont, ct).ConfigureAwait(false);
            return (itemsOf(body).Select(i => Complete(JsonNode.Parse(KubernetesJson.Serialize(i)))).ToList(), resourceVersionOf(body).ResourceVersion, resourceVersionOf(body).ContinueProperty);
        }

        public override async IAsyncEnumerable<(WatchEventType, JsonObject)> WatchAsync(IKubernetes client, string resourceVersion, Action<Exception> onError, [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var (type, obj) in watch(client, resourceVersion, onError, ct).WithCancellation(ct).ConfigureAwait(false))
                yield return (type, Complete(JsonNode.Parse(KubernetesJson.Serialize(obj))));
        }
    }
}
