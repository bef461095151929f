using System.Text.Json.Nodes;

namespace EventGateway.Workflows.Cluster;

/// <summary>A kind as the cluster serves it: where its objects live (plural) and whether they belong to a namespace.</summary>
public sealed record ClusterResource(string ApiVersion, string Kind, string Plural, bool Namespaced)
{
    public string Group => ApiVersion.Contains('/', StringComparison.Ordinal) ? ApiVersion[..ApiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
    public string Version => ApiVersion.Contains('/', StringComparison.Ordinal) ? ApiVersion[(ApiVersion.IndexOf('/', StringComparison.Ordinal) + 1)..] : ApiVersion;

    /// <summary>plural.group, as the API server names a resource in its messages.</summary>
    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}

/// <summary>How a patch is read: RFC 7386 merge, RFC 6902 JSON patch, or Kubernetes' strategic merge (built-in kinds only).</summary>
public enum ClusterPatch { Merge, Json, StrategicMerge }

/// <summary>
/// "The cluster" as the k8s trigger, the argoWorkflow trigger (<c>--workflows-target cluster</c>) and resource templates
/// see it in Kubernetes mode: any kind, found by apiVersion and kind, read and written as JSON. The implementation
/// (KubernetesClient against the API server) lives with the rest of Kubernetes mode; callers here stay free of it.
/// Every refusal of the API server is a <see cref="ClusterApiException"/> carrying its Status.
/// </summary>
public interface IClusterObjects
{
    /// <summary>The resource serving <paramref name="kind"/> in <paramref name="apiVersion"/> (discovery, cached; a miss refreshes once).</summary>
    /// <exception cref="ClusterApiException">404 when the cluster does not serve the kind.</exception>
    Task<ClusterResource> ResolveAsync(string apiVersion, string kind, CancellationToken ct);

    /// <summary>The object, or null when it does not exist.</summary>
    Task<JsonObject?> GetAsync(ClusterResource type, string? ns, string name, CancellationToken ct);

    Task<JsonObject> CreateAsync(ClusterResource type, string? ns, JsonObject obj, CancellationToken ct);

    /// <summary>A PUT of the whole object; its metadata.resourceVersion makes a stale write a 409 Conflict.</summary>
    Task<JsonObject> ReplaceAsync(ClusterResource type, string? ns, string name, JsonObject obj, CancellationToken ct);

    Task<JsonObject> PatchAsync(ClusterResource type, string? ns, string name, JsonNode patch, ClusterPatch how, CancellationToken ct);

    /// <summary>False when there was nothing to delete.</summary>
    Task<bool> DeleteAsync(ClusterResource type, string? ns, string name, CancellationToken ct);

    /// <summary>
    /// The object as it is now, then as it is after each change (null while it does not exist), until cancelled: one
    /// watch on the object's name, resumed from its last resourceVersion when the connection is cut, re-read when the
    /// history is compacted (410 Gone). No polling.
    /// </summary>
    IAsyncEnumerable<JsonObject?> WatchAsync(ClusterResource type, string? ns, string name, CancellationToken ct);
}

/// <summary>The API server refused a request; <see cref="Exception.Message"/> is its Status message.</summary>
public sealed class ClusterApiException(int code, string reason, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Code { get; } = code;

    /// <summary>The Status reason: NotFound, AlreadyExists, Conflict, Invalid, Forbidden, …</summary>
    public string Reason { get; } = reason;

    /// <summary>"422 Invalid: …", for trigger failures and node messages.</summary>
    public string Describe() => $"{Code} {Reason}: {Message}";

    /// <summary>Whether trying the same request again may succeed (server trouble), as opposed to a refusal of the request.</summary>
    public bool Transient => Code is 0 or 429 or >= 500;
}
