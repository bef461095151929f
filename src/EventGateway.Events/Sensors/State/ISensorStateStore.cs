namespace EventGateway.Events.Sensors.State;

/// <summary>
/// What sensors must remember across restarts: each sensor's checkpoint in the event log, partial condition state,
/// the dedup store of firings, the recorded path of every event, per-trigger counters and dead letters. Every pass of
/// a sensor commits as one transaction (<see cref="Commit"/>), so its checkpoint never runs ahead of its decisions.
/// SQLite (sensors.db) is the embedded implementation; PostgreSQL the shared one.
/// </summary>
public interface ISensorStateStore
{
    /// <summary>The last sequence the sensor finished, or null before its first pass.</summary>
    long? GetCheckpoint(string sensor);

    /// <summary>Partial condition state by trigger, then dependency.</summary>
    Dictionary<string, Dictionary<string, PartialEvent>> LoadPartial(string sensor);

    /// <summary>The firing with this dedup key, if one was recorded at or after <paramref name="notBefore"/>.</summary>
    FiringRecord? FindFiring(string sensor, string trigger, string dedupKey, DateTimeOffset notBefore);

    /// <summary>
    /// When the trigger fired since <paramref name="notBefore"/>, whichever replica fired it: a replica taking a Sensor
    /// over starts its rateLimit with them, so the limit holds across the takeover. The embedded store answers none
    /// (one process: its rate limiter starts anew with it, as before).
    /// </summary>
    IReadOnlyList<DateTimeOffset> FiringsSince(string sensor, string trigger, DateTimeOffset notBefore) => [];

    /// <summary>Writes the whole pass or nothing.</summary>
    /// <exception cref="FencedWriteException">the batch's <see cref="SensorBatch.Fence"/> no longer holds; nothing was written.</exception>
    void Commit(SensorBatch batch);

    /// <summary>Recorded decisions for the given events, in sequence then stage order.</summary>
    IReadOnlyList<Decision> DecisionsFor(IReadOnlyCollection<long> sequences);

    /// <summary>Counts by trigger ("" = the dependency stage) and outcome.</summary>
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Counters(string sensor);

    IReadOnlyList<DeadLetter> DeadLetters(string? sensor = null, bool includeReplayed = false, int limit = 100);

    DeadLetter? GetDeadLetter(long id);

    /// <exception cref="FencedWriteException">the fence no longer holds; nothing was written.</exception>
    void MarkReplayed(long id, DateTimeOffset at, string outcome, LeaseFence? fence = null);

    /// <summary>Forgets a deleted sensor's checkpoint and partial state; its history (decisions, counters, dead letters) stays.</summary>
    /// <exception cref="FencedWriteException">the fence no longer holds; nothing was written.</exception>
    void Forget(string sensor, LeaseFence? fence = null);

    /// <summary>Drops firings older than the dedup window and decisions older than the event log keeps events.</summary>
    int Prune(DateTimeOffset firingsBefore, DateTimeOffset decisionsBefore);
}

/// <summary>
/// A condition on a write: the lease <paramref name="Name"/> is still held by <paramref name="Holder"/> at
/// <paramref name="Epoch"/>. A replica that owns a sensor through a lease passes it, so that once another replica
/// took the sensor over, the old owner's late writes are refused instead of overwriting the new owner's state.
/// The shared store checks it in the write's own transaction; the embedded store has one process and no leases.
/// </summary>
public sealed record LeaseFence(string Name, string Holder, long Epoch);

/// <summary>A fenced write refused because its lease moved on: nothing of it was written.</summary>
public sealed class FencedWriteException(string message) : Exception(message);
