namespace EventGateway.Events.Log;

/// <summary>
/// The durable, append-only event log: the in-process event bus. Appends complete only once the
/// events are durable; sequences are monotonic and never reused. Consumers read forward from a
/// position they keep with their own decisions (a sensor commits its position and what it decided in
/// one transaction). The shape is a topic with one partition, so Kafka can stand behind the same
/// interface when several replicas share the bus.
/// </summary>
public interface IEventLog
{
    /// <summary>
    /// Makes the events (and the source checkpoint, if any) durable and returns their sequences in order. Only
    /// after this completes may a sender be acknowledged. The embedded log writes both in one transaction; the
    /// JetStream log writes the checkpoint after the events were acknowledged, and stores a re-sent event (same
    /// source and id, within the duplicate window) once, answering with its first sequence.
    /// </summary>
    /// <exception cref="EventLogUnavailableException">the log is full or its storage fails; nothing was written.</exception>
    Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<EventToAppend> events, SourceCheckpoint? checkpoint = null, CancellationToken ct = default);

    /// <summary>Events with a sequence above <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<LoggedEvent>> ReadAsync(long afterSequence, int max, CancellationToken ct = default);

    /// <summary>Completes once an event with a sequence above <paramref name="afterSequence"/> exists.</summary>
    Task WaitForAsync(long afterSequence, CancellationToken ct = default);

    /// <summary>A source's own checkpoint, written by <see cref="AppendAsync"/>.</summary>
    Task<string?> GetSourceStateAsync(string key, CancellationToken ct = default);

    Task<LoggedEvent?> GetAsync(long sequence, CancellationToken ct = default);

    /// <summary>Recent events, newest first.</summary>
    Task<IReadOnlyList<LoggedEvent>> QueryAsync(EventQuery query, CancellationToken ct = default);

    Task<EventLogStats> StatsAsync(CancellationToken ct = default);

    /// <summary>
    /// Whether an append would be taken now: false while shutting down, while the admission queue is full, and after a
    /// storage failure (disk full, I/O error) until a write succeeds again. Readiness reports it.
    /// </summary>
    bool AcceptsWrites { get; }
}
