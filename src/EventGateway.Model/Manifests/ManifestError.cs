namespace EventGateway.Model.Manifests;

/// <summary>One reason a manifest was refused: which document, which field, why.</summary>
public sealed record ManifestError(string Source, int Document, string? Kind, string? Name, string Path, int? Line, string Reason)
{
    public override string ToString()
    {
        var where = Line is { } l ? $"{Source}:{l}" : Source;
        var what = Kind is null ? $"document {Document + 1}" : $"document {Document + 1} ({Kind}{(string.IsNullOrEmpty(Name) ? "" : "/" + Name)})";
        return string.IsNullOrEmpty(Path) ? $"{where}: {what}: {Reason}" : $"{where}: {what}: {Path}: {Reason}";
    }
}

/// <summary>Thrown when any document is invalid; nothing from the input has been applied.</summary>
public sealed class ManifestException(IReadOnlyList<ManifestError> errors)
    : Exception(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
{
    public IReadOnlyList<ManifestError> Errors { get; } = errors;
}
