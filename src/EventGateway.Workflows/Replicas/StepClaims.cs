namespace EventGateway.Workflows.Replicas;

/// <summary>
/// Which replica started a step, recorded before its process starts. With several replicas a step's process lives and
/// dies with its replica's machine, and the status saying "Running" is written after the start (throttled): only a
/// record written ahead lets the replica that takes the workflow over know that a step may have run elsewhere, and
/// end it as Error (retried by its retryStrategy) instead of running the same node a second time.
/// </summary>
public interface IStepClaims
{
    /// <summary>Records that <paramref name="replica"/> starts the step; returns the replica that claimed it first.</summary>
    Task<string> ClaimAsync(string workflowUid, string nodeId, string replica, CancellationToken ct);

    /// <summary>Forgets the claims of these nodes (a retry runs them again under their old ids).</summary>
    Task ForgetAsync(string workflowUid, IEnumerable<string> nodeIds, CancellationToken ct);
}

/// <summary>The embedded mode: one replica, whose restarts adopt their own steps.</summary>
public sealed class NoStepClaims : IStepClaims
{
    public static readonly NoStepClaims Instance = new();

    public Task<string> ClaimAsync(string workflowUid, string nodeId, string replica, CancellationToken ct) => Task.FromResult(replica);

    public Task ForgetAsync(string workflowUid, IEnumerable<string> nodeIds, CancellationToken ct) => Task.CompletedTask;
}
