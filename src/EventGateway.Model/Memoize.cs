namespace EventGateway.Model;

/// <summary>Argo's template-level memoize: outputs cached in a ConfigMap under a key rendered from the template's inputs.</summary>
public sealed class Memoize
{
    public string? Key { get; set; }
    /// <summary>A Go duration ("180s", "24h"); an entry older than this is ignored. Empty: entries never expire.</summary>
    public string? MaxAge { get; set; }
    public MemoizeCache? Cache { get; set; }
}

public sealed class MemoizeCache
{
    /// <summary>The ConfigMap in the workflow's namespace; older manifests name a key too, which Argo ignores.</summary>
    public KeySelector? ConfigMap { get; set; }
}

/// <summary>How a memoized node used its cache.</summary>
public sealed class MemoizationStatus
{
    /// <summary>True when the node's outputs came from the cache and nothing ran.</summary>
    public bool Hit { get; set; }
    public string Key { get; set; } = "";
    public string CacheName { get; set; } = "";
}
