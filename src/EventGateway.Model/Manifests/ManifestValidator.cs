using System.Text.RegularExpressions;

namespace EventGateway.Model.Manifests;

/// <summary>One kind's spec checks, owned by the feature that runs that kind (workflows, event sources, sensors).</summary>
public interface IKindValidator
{
    /// <summary>The resource types this validator checks.</summary>
    IReadOnlyCollection<Type> Kinds { get; }

    /// <summary>Reports every problem through <c>fail(path, reason)</c> rather than stopping at the first.</summary>
    void Validate(Resource resource, Action<string, string> fail);
}

/// <summary>
/// Checks what the type system cannot. Metadata is checked here for every kind; each kind's spec by the
/// <see cref="IKindValidator"/> its feature supplies, so no check here calls back into a feature.
/// </summary>
public sealed partial class ManifestValidator
{
    private readonly Dictionary<Type, IKindValidator> _byKind = [];

    public ManifestValidator(IEnumerable<IKindValidator> kinds)
    {
        foreach (var v in kinds)
            foreach (var kind in v.Kinds)
                if (!_byKind.TryAdd(kind, v)) throw new ArgumentException($"two validators for {kind.Name}", nameof(kinds));
    }

    /// <summary>Metadata checks alone, for readers of kinds whose specs need no checks (ConfigMaps, Secrets).</summary>
    public static ManifestValidator MetadataOnly { get; } = new([]);

    public void Validate(Resource resource, Action<string, string> fail)
    {
        ValidateMetadata(resource, fail);
        if (_byKind.TryGetValue(resource.GetType(), out var kind)) kind.Validate(resource, fail);
    }

    private static void ValidateMetadata(Resource r, Action<string, string> fail)
    {
        var m = r.Metadata;
        var allowGenerate = r is Workflow;
        if (string.IsNullOrEmpty(m.Name) && (!allowGenerate || string.IsNullOrEmpty(m.GenerateName)))
            fail("metadata.name", allowGenerate ? "missing: set metadata.name or metadata.generateName" : "missing: set metadata.name");
        if (!string.IsNullOrEmpty(m.Name) && !IsDnsSubdomain(m.Name))
            fail("metadata.name", $"'{m.Name}' is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters");
        if (!string.IsNullOrEmpty(m.GenerateName) && !IsDnsSubdomain(m.GenerateName.TrimEnd('-', '.') + "x"))
            fail("metadata.generateName", $"'{m.GenerateName}' is not a valid name prefix");
        if (!string.IsNullOrEmpty(m.Namespace) && !IsDnsLabel(m.Namespace))
            fail("metadata.namespace", $"'{m.Namespace}' is not a valid namespace");
    }

    /// <summary>A Kubernetes object name (RFC 1123 subdomain).</summary>
    public static bool IsDnsSubdomain(string name) => DnsSubdomain().IsMatch(name);

    /// <summary>A Kubernetes namespace name (RFC 1123 label).</summary>
    public static bool IsDnsLabel(string name) => DnsLabel().IsMatch(name);

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
