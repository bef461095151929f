namespace EventGateway.Model;

// What a finished workflow leaves behind and for how long: Argo's podGC and ttlStrategy.

/// <summary>When a step's process and its files (logs, sandbox) are removed.</summary>
public sealed class PodGC
{
    /// <summary>OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess; unset keeps every pod.</summary>
    public string? Strategy { get; set; }
    /// <summary>Only pods whose labels match are removed.</summary>
    public LabelSelector? LabelSelector { get; set; }
    /// <summary>How long after the strategy's moment the pod is removed (Go duration).</summary>
    public string? DeleteDelayDuration { get; set; }
}

/// <summary>Kubernetes' LabelSelector: every matchLabels pair and every expression must hold.</summary>
public sealed class LabelSelector
{
    public Dictionary<string, string>? MatchLabels { get; set; }
    public List<LabelSelectorRequirement>? MatchExpressions { get; set; }
}

public sealed class LabelSelectorRequirement
{
    public string Key { get; set; } = "";
    /// <summary>In, NotIn, Exists or DoesNotExist.</summary>
    public string Operator { get; set; } = "";
    public List<string>? Values { get; set; }
}

/// <summary>How long a finished workflow stays in the store; the first field that applies to its phase wins.</summary>
public sealed class TtlStrategy
{
    public int? SecondsAfterCompletion { get; set; }
    public int? SecondsAfterSuccess { get; set; }
    public int? SecondsAfterFailure { get; set; }
}
