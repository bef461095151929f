using EventGateway.Model;

namespace EventGateway.Events.EventSources.S3;

/// <summary>What one minio/s3 event reports: its bucket, its event names, and keys by prefix and suffix.</summary>
public sealed class S3Selection(S3EventSource spec)
{
    public string Bucket { get; } = spec.Bucket?.Name ?? throw new InvalidOperationException("bucket.name is missing");
    public string Prefix { get; } = spec.Filter?.Prefix ?? "";
    public string Suffix { get; } = spec.Filter?.Suffix ?? "";
    public IReadOnlyList<string> Events { get; } = spec.Events ?? [];

    public bool KeyMatches(string key) =>
        key.StartsWith(Prefix, StringComparison.Ordinal) && key.EndsWith(Suffix, StringComparison.Ordinal);

    public bool Wants(string eventName) => S3EventNames.Any(Events, eventName);

    public override string ToString() =>
        $"bucket {Bucket}, events [{string.Join(", ", Events)}]"
        + (Prefix.Length > 0 ? $", prefix '{Prefix}'" : "") + (Suffix.Length > 0 ? $", suffix '{Suffix}'" : "");
}
