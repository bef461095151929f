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

    /// <summary>The cap on running step processes over all replicas (--max-processes with a shared store); null: none.</summary>
    int? ProcessCap => null;

    /// <summary>
    /// Claims a process step as <see cref="ClaimAsync"/> does and, in the same round trip, asks for a place under
    /// <see cref="ProcessCap"/>: granted when the places held plus the older askers still asking leave room, so
    /// places go in the order they were asked for. Asking again keeps the step's place in that order.
    /// </summary>
    Task<SlotAnswer> ClaimSlotAsync(string workflowUid, string nodeId, int shard, string replica, CancellationToken ct) =>
        throw new NotSupportedException("no process cap across replicas");

    /// <summary>Gives back the step's place (held, or still asked for): its process ended, or it will never start.</summary>
    Task ReleaseSlotAsync(string workflowUid, string nodeId, string replica, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The shards were taken over: the places other replicas held for steps of them go (their processes went with them).</summary>
    Task ReleaseOthersAsync(IReadOnlyCollection<int> shards, string replica, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>The answer to <see cref="IStepClaims.ClaimSlotAsync"/>: who claimed the step first, whether it may run, how many run.</summary>
public readonly record struct SlotAnswer(string Claimant, bool Admitted, int Running);

/// <summary>The embedded mode: one replica, whose restarts adopt their own steps.</summary>
public sealed class NoStepClaims : IStepClaims
{
    public static readonly NoStepClaims Instance = new();

    public Task<string> ClaimAsync(string workflowUid, string nodeId, string replica, CancellationToken ct) => Task.FromResult(replica);

    public Task ForgetAsync(string workflowUid, IEnumerable<string> nodeIds, CancellationToken ct) => Task.CompletedTask;
}
