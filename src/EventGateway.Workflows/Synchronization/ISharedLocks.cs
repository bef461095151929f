namespace EventGateway.Workflows.Synchronization;

/// <summary>
/// Mutexes and semaphores counted across replicas (Argo's database-backed semaphores). The <see cref="LockTable"/>
/// of each replica keeps its own queue and order of waiters; a grant it decides is only final once every lock also
/// has room here, counting the holders of every replica. Null in the embedded mode: one table sees every holder.
/// </summary>
public interface ISharedLocks
{
    /// <summary>Takes a place for <paramref name="holder"/> in every lock, or none: true when all fit under their limits.</summary>
    bool TryHold(string holder, IReadOnlyList<(string Key, int Limit)> locks);

    /// <summary>Records a hold granted before (restart, takeover) without checking the limit.</summary>
    void Restore(string holder, string key);

    /// <summary>Gives back every place of this holder.</summary>
    void Release(string holder);

    /// <summary>
    /// Drops the places other replicas recorded for holders this replica now owns (<paramref name="owned"/> says which):
    /// a replica that died may have taken places it never wrote into a status, or not yet released those of a workflow
    /// that completed. Called when workflows are taken over, before their statuses are restored.
    /// </summary>
    void ForgetOthers(Func<string, bool> owned);
}
