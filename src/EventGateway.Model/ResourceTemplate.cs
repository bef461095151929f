namespace EventGateway.Model;

/// <summary>Argo's <c>resource</c> template: an action on one object of the store, optionally awaited by conditions.</summary>
public sealed class ResourceTemplate
{
    public string? Action { get; set; }
    public string? MergeStrategy { get; set; }
    public string? Manifest { get; set; }
    public ManifestFrom? ManifestFrom { get; set; }
    public bool? SetOwnerReference { get; set; }
    public string? SuccessCondition { get; set; }
    public string? FailureCondition { get; set; }
    public List<string>? Flags { get; set; }
}

public sealed class ManifestFrom
{
    public Artifact? Artifact { get; set; }
}
