namespace EventGateway.Workflows.Replicas;

/// <summary>
/// Work that one replica at a time may do (a Sensor, a polling listener): a claim on its lease, and a wait for the
/// hold. The worker runs under the token <see cref="WaitHeldAsync"/> returns, which is cancelled when the hold ends,
/// so a replica that loses the lease stops before another can take it.
/// </summary>
public sealed class ExclusiveWork : IDisposable
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ExclusiveWork(IOwnership ownership, string lease)
    {
        Lease = lease;
        Claim = ownership.Claim(lease, () => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult());
    }

    public string Lease { get; }

    public ILeaseClaim Claim { get; }

    /// <summary>Waits until this replica holds the lease; returns the token cancelled when that hold ends.</summary>
    public async Task<CancellationToken> WaitHeldAsync(CancellationToken ct)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _changed);
            if (Claim.Held && Claim.Lost is { IsCancellationRequested: false } lost) return lost;
            await signal.Task.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public void Dispose() => Claim.Dispose();
}
