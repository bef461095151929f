using EventGateway.Events.Log;

namespace EventGateway.Events.Sensors.State;

/// <summary>
/// One step of an event's recorded path through a sensor: the dependency stage (Trigger empty: matched and
/// passed its filters, or filtered) and per trigger (waiting for conditions, duplicate, rate-limited, triggered,
/// failed, dead-lettered). An event can have several steps per trigger, e.g. rate-limited then triggered.
/// </summary>
public sealed record Decision(long Sequence, string Sensor, string Trigger, string Outcome, string? Reason, DateTimeOffset Time);

/// <summary>The stage outcomes the pipeline records and counts.</summary>
public static class Outcomes
{
    public const string Passed = "passed";
    public const string Filtered = "filtered";
    public const string Waiting = "waiting";
    public const string Duplicate = "duplicate";
    public const string RateLimited = "rate-limited";
    public const string Triggered = "triggered";
    public const string Failed = "failed";
    public const string DeadLettered = "dead-lettered";

    public static readonly string[] All = [Passed, Filtered, Waiting, Duplicate, RateLimited, Triggered, Failed, DeadLettered];
}

/// <summary>A trigger firing remembered for deduplication: the key, the events that made it, what it did.</summary>
public sealed record FiringRecord(string Sensor, string Trigger, string DedupKey, IReadOnlyList<long> Sequences, DateTimeOffset Time, string Outcome, string? Detail);

/// <summary>The latest event of one dependency, kept until the trigger's conditions hold.</summary>
public sealed record PartialEvent(long Sequence, CloudEvent Event);

/// <summary>A firing that failed after its retries and had no dlqTrigger: kept until replayed.</summary>
public sealed record DeadLetter(long Id, string Sensor, string Trigger, string DedupKey, IReadOnlyList<long> Sequences,
    IReadOnlyDictionary<string, CloudEvent> Events, string Error, DateTimeOffset Time, DateTimeOffset? ReplayedAt, string? ReplayOutcome);

/// <summary>
/// Everything one pass of a sensor decided, committed in one transaction with its checkpoint, so a crash
/// leaves the sensor either before the pass (and replays it) or after it.
/// </summary>
public sealed class SensorBatch(string sensor)
{
    public string Sensor { get; } = sensor;
    public long? Checkpoint { get; set; }
    /// <summary>When set, the batch is written only while this lease holds (see <see cref="LeaseFence"/>).</summary>
    public LeaseFence? Fence { get; init; }
    public List<Decision> Decisions { get; } = [];
    public List<FiringRecord> Firings { get; } = [];
    public List<DeadLetter> DeadLetters { get; } = [];
    /// <summary>Triggers whose partial condition state changed: the state to store (empty = cleared).</summary>
    public Dictionary<string, IReadOnlyDictionary<string, PartialEvent>> Partial { get; } = new(StringComparer.Ordinal);

    public bool IsEmpty => Checkpoint is null && Decisions.Count == 0 && Firings.Count == 0 && DeadLetters.Count == 0 && Partial.Count == 0;

    public FiringRecord? FindFiring(string trigger, string dedupKey) =>
        Firings.LastOrDefault(f => f.Trigger == trigger && f.DedupKey == dedupKey);
}
