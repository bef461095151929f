using System.Text.Json.Nodes;

namespace EventGateway.Model;

/// <summary>Argo's containerSet: containers of one pod, ordered by plain dependencies, sharing volumes.</summary>
public sealed class ContainerSetTemplate
{
    public List<ContainerNode> Containers { get; set; } = [];
    /// <summary>Mounted into every container of the set.</summary>
    public List<VolumeMount>? VolumeMounts { get; set; }
    public ContainerSetRetryStrategy? RetryStrategy { get; set; }
}

public sealed class ContainerNode : Container
{
    /// <summary>Names of containers of the same set that must exit 0 first (no enhanced depends logic).</summary>
    public List<string>? Dependencies { get; set; }
}

public sealed class VolumeMount
{
    public string Name { get; set; } = "";
    public string MountPath { get; set; } = "";
    public bool? ReadOnly { get; set; }
    public string? SubPath { get; set; }
    public string? SubPathExpr { get; set; }
    public string? MountPropagation { get; set; }
    public string? RecursiveReadOnly { get; set; }
}

/// <summary>Retries a failed container in place (no new pod): up to Retries more runs, Duration apart.</summary>
public sealed class ContainerSetRetryStrategy
{
    public string? Retries { get; set; }
    public string? Duration { get; set; }
}

/// <summary>A container's own volumeMounts, kept as raw JSON on <see cref="Container"/>, as name/mountPath pairs.</summary>
public static class ContainerMounts
{
    public static IEnumerable<(string Name, string MountPath)> Of(Container c) =>
        c.VolumeMounts is JsonArray a
            ? a.OfType<JsonObject>().Select(m => (Text(m["name"]) ?? "", Text(m["mountPath"]) ?? ""))
            : [];

    public static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
