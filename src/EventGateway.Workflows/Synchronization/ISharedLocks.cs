namespace EventGateway.Workflows.Synchronization;

/// <summary>
/// Mutexes and semaphores counted across replicas (Argo's database-backed semaphores). The <see cref="LockTable"/>
/// of each replica keeps its own queue of waiters; a grant it decides is only final once every lock also has room
/// here, counting the holders of every replica and the waiters of every replica that come first (higher priority,
/// then older). Null in the embedded mode: one table sees every holder and waiter.
/// </summary>
public interface ISharedLocks
{
    /// <summary>
    /// Takes a place for <paramref name="holder"/> in every lock, or none: null when all fit under their limits after
    /// the holders and the waiters ahead of it; otherwise the first lock that did not, and why, and the holder is
    /// recorded as a waiter of every lock, in its order (<paramref name="priority"/>, then <paramref name="created"/>).
    /// </summary>
    (string Key, string Reason)? TryHold(string holder, IReadOnlyList<(string Key, int Limit)> locks, long priority, DateTimeOffset created);

    /// <summary>Records <paramref name="holder"/> as a waiter of these locks, in its order, so other replicas let it pass first.</summary>
    void Wait(string holder, IReadOnlyList<string> keys, long priority, DateTimeOffset created);

    /// <summary>Records a hold granted before (restart, takeover) without checking the limit.</summary>
    void Restore(string holder, string key);

    /// <summary>Gives back every place of this holder, and its place in every queue.</summary>
    void Release(string holder);

    /// <summary>
    /// Drops the places and waits other replicas recorded for holders this replica now owns (<paramref name="owned"/>
    /// says which): a replica that died may have taken places it never wrote into a status, or not yet released those
    /// of a workflow that completed; its waiters are queued again here. Called when workflows are taken over, before
    /// their statuses are restored.
    /// </summary>
    void ForgetOthers(Func<string, bool> owned);
}
