namespace EventGateway.Workflows.Validation;

/// <summary>
/// How much work one workflow may ask for. A static excess (a literal withItems list, a literal withSequence) is
/// refused at submit with its field path; a dynamic one (withParam, a templated count) ends that node in Error.
/// Either way nothing is allocated for items beyond the cap, so one workflow cannot exhaust the service.
/// </summary>
public sealed record WorkflowLimits
{
    public static WorkflowLimits Default { get; } = new();

    /// <summary>Items one withItems/withParam/withSequence may expand to (<c>--max-loop-items</c>).</summary>
    public int MaxLoopItems { get; init; } = 10_000;

    /// <summary>
    /// Nodes in one workflow's status (<c>--max-workflow-nodes</c>). Argo has no node count but refuses a status over
    /// its 1 MB object size unless node status offloading is on; 50,000 nodes (five loops at the item cap) is well above
    /// what Argo users run and keeps one status in the tens of MB.
    /// </summary>
    public int MaxWorkflowNodes { get; init; } = 50_000;

    public void Validate()
    {
        if (MaxLoopItems < 1) throw new ArgumentException($"max loop items must be at least 1, got {MaxLoopItems}");
        if (MaxWorkflowNodes < 1) throw new ArgumentException($"max workflow nodes must be at least 1, got {MaxWorkflowNodes}");
    }
}
