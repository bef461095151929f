namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// Bucket event names as S3 and MinIO configure them (<c>s3:ObjectCreated:Put</c>), with the
/// trailing <c>*</c> wildcard of a notification configuration. AWS records carry the name without
/// the <c>s3:</c> prefix (<c>ObjectCreated:Put</c>); <see cref="Normalize"/> evens that out.
/// </summary>
public static class S3EventNames
{
    /// <summary>What polling sees: an object that appeared or changed, and one that went away.</summary>
    public const string Put = "s3:ObjectCreated:Put";
    public const string Delete = "s3:ObjectRemoved:Delete";

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "s3:ObjectCreated:*", Put, "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectCreated:PutRetention", "s3:ObjectCreated:PutLegalHold", "s3:ObjectCreated:PutTagging", "s3:ObjectCreated:DeleteTagging",
        "s3:ObjectRemoved:*", Delete, "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRemoved:NoOP", "s3:ObjectRemoved:DeleteAllVersions",
        "s3:ObjectAccessed:*", "s3:ObjectAccessed:Get", "s3:ObjectAccessed:Head", "s3:ObjectAccessed:GetRetention",
        "s3:ObjectAccessed:GetLegalHold", "s3:ObjectAccessed:Attributes",
        "s3:ObjectRestore:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete",
        "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put",
        "s3:ReducedRedundancyLostObject", "s3:IntelligentTiering", "s3:LifecycleTransition",
        "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:LifecycleDelMarkerExpiration:Delete",
        "s3:Replication:*", "s3:Replication:OperationFailedReplication", "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold", "s3:Replication:OperationNotTracked", "s3:Replication:OperationCompletedReplication",
        "s3:ObjectTransition:*", "s3:ObjectTransition:Failed", "s3:ObjectTransition:Complete",
        "s3:ObjectManyVersions", "s3:ObjectLargeVersions", "s3:PrefixManyFolders",
        "s3:Scanner:ManyVersions", "s3:Scanner:BigPrefix", "s3:BucketCreated", "s3:BucketRemoved",
    };

    public static bool IsKnown(string name) => Known.Contains(name);

    /// <summary>The name with its <c>s3:</c> prefix, whichever form the record used.</summary>
    public static string Normalize(string recordName) =>
        recordName.StartsWith("s3:", StringComparison.Ordinal) ? recordName : "s3:" + recordName;

    /// <summary>Whether a configured name (exact, or <c>s3:ObjectCreated:*</c>) covers a record's name.</summary>
    public static bool Matches(string pattern, string recordName)
    {
        var name = Normalize(recordName);
        return pattern.EndsWith(":*", StringComparison.Ordinal)
            ? name.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, name, StringComparison.Ordinal);
    }

    public static bool Any(IEnumerable<string>? patterns, string recordName) => patterns?.Any(p => Matches(p, recordName)) == true;

    /// <summary>The name a record of this source type carries: MinIO keeps the prefix, AWS drops it.</summary>
    public static string ForRecord(string name, S3SourceType type) =>
        type == S3SourceType.S3 && name.StartsWith("s3:", StringComparison.Ordinal) ? name[3..] : name;
}
