using System.Text.Json.Nodes;

namespace EventGateway.Model;

/// <summary>Kubernetes object metadata, the subset a manifest may carry plus what the store assigns.</summary>
public sealed class ObjectMeta
{
    public string? Name { get; set; }
    public string? GenerateName { get; set; }
    public string? Namespace { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public string? Uid { get; set; }
    public string? ResourceVersion { get; set; }
    public long? Generation { get; set; }
    public DateTimeOffset? CreationTimestamp { get; set; }
    public DateTimeOffset? DeletionTimestamp { get; set; }
    public List<string>? Finalizers { get; set; }
    public JsonArray? OwnerReferences { get; set; }
    public JsonArray? ManagedFields { get; set; }
}

/// <summary>Any object with apiVersion/kind/metadata: the unit the store keeps.</summary>
public abstract class Resource
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public ObjectMeta Metadata { get; set; } = new();

    /// <summary>Namespace, defaulting as kubectl would when the manifest names none.</summary>
    public string NamespaceOrDefault => string.IsNullOrEmpty(Metadata.Namespace) ? Resources.DefaultNamespace : Metadata.Namespace;

    public string Name => Metadata.Name ?? "";
}

public sealed class ConfigMap : Resource
{
    public Dictionary<string, string>? Data { get; set; }
    public Dictionary<string, string>? BinaryData { get; set; }
    public bool? Immutable { get; set; }
}

/// <summary>
/// A claim on storage that outlives any one workflow: here a directory under the data directory, kept as long as the
/// claim is in the store (its spec is recorded, not interpreted: no size or access mode is enforced).
/// </summary>
public sealed class PersistentVolumeClaim : Resource
{
    public JsonObject? Spec { get; set; }
    public JsonObject? Status { get; set; }
}

public sealed class Secret : Resource
{
    /// <summary>Base64-encoded values, as Kubernetes stores them.</summary>
    public Dictionary<string, string>? Data { get; set; }
    public Dictionary<string, string>? StringData { get; set; }
    public string? Type { get; set; }
    public bool? Immutable { get; set; }

    /// <summary>The decoded value of a key, merging stringData over data as the API server does.</summary>
    public string? Value(string key)
    {
        if (StringData is not null && StringData.TryGetValue(key, out var s)) return s;
        if (Data is not null && Data.TryGetValue(key, out var b64))
        {
            try { return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64)); }
            catch (FormatException) { return null; }
        }
        return null;
    }
}
