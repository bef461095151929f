namespace EventGateway.Workflows.Replicas;

/// <summary>
/// Workflows are owned by shard, not one by one: a lease per workflow would cost a renewal write per running workflow
/// every few seconds (thousands of rows under load), while a fixed number of shard leases costs a handful and still
/// spreads the workflows over the replicas. A workflow's shard is a stable hash of its namespace/name, the same in
/// every replica and every version.
/// </summary>
public static class WorkflowShards
{
    /// <summary>Enough to spread over a few replicas evenly, few enough to renew in one statement.</summary>
    public const int Count = 16;

    public const string LeasePrefix = "workflows/shard-";

    public static int Of(string @namespace, string name)
    {
        // FNV-1a over UTF-16 code units: string.GetHashCode is randomised per process.
        var h = 2166136261u;
        foreach (var c in @namespace) h = (h ^ c) * 16777619u;
        h = (h ^ '/') * 16777619u;
        foreach (var c in name) h = (h ^ c) * 16777619u;
        return (int)(h % Count);
    }

    public static string LeaseName(int shard) => $"{LeasePrefix}{shard:D2}";
}
