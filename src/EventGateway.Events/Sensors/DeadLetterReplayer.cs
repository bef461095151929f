using System.Collections.Concurrent;
using EventGateway.Events.Sensors.State;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors;

/// <summary>
/// <c>egw dlq replay ID</c>: fires a dead letter's trigger again with the events it kept, as the Sensor defines that
/// trigger NOW (a fixed URL or template is the usual reason to replay). Same parameters, same dedup key (so created
/// workflows get the same derived name), the trigger's own retry strategy; no rate limit or dlqTrigger, since a person
/// asked for exactly this one firing. A success is recorded like a pipeline firing: the dead letter is marked replayed,
/// the event's path and the trigger's counters show it, and the dedup store remembers it. A failure leaves the dead
/// letter in the list, unchanged, and says why.
/// </summary>
public sealed class DeadLetterReplayer(
    IResourceStore store,
    ISensorStateStore state,
    SensorWorkflowGate gate,
    TriggerContext context,
    IEnumerable<ITrigger> triggers,
    SensorMetrics metrics)
{
    private readonly IReadOnlyDictionary<string, ITrigger> _kinds = triggers.ToDictionary(t => t.Kind, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, byte> _replaying = new();

    /// <exception cref="DeadLetterReplayException">the dead letter, its Sensor or its trigger is gone, it was replayed already,
    /// or the trigger cannot be built; nothing was fired.</exception>
    public async Task<ReplayResult> ReplayAsync(long id, CancellationToken ct = default)
    {
        // Claimed before reading, so two concurrent requests cannot both see "not replayed yet" and fire twice.
        if (!_replaying.TryAdd(id, 0))
            throw new DeadLetterReplayException(ReplayRefusal.Conflict, $"dead letter {id} is being replayed right now");
        try
        {
            var letter = state.GetDeadLetter(id) ?? throw new DeadLetterReplayException(ReplayRefusal.NotFound, $"dead letter {id} not found");
            if (letter.ReplayedAt is { } at)
                throw new DeadLetterReplayException(ReplayRefusal.Conflict,
                    $"dead letter {id} was already replayed at {at:u} ({letter.ReplayOutcome}); replaying it again would fire trigger '{letter.Trigger}' twice");
            // The same events may have fired since (a redelivery, or a replay whose mark a crash lost): the dedup store knows.
            if (state.FindFiring(letter.Sensor, letter.Trigger, letter.DedupKey, letter.Time) is { Outcome: Outcomes.Triggered } done)
            {
                var reason = $"{Outcomes.Duplicate}: dedup key '{letter.DedupKey}' already fired at {done.Time:u} ({done.Detail})";
                state.MarkReplayed(id, context.Time.GetUtcNow(), reason);
                throw new DeadLetterReplayException(ReplayRefusal.Conflict, $"dead letter {id} not replayed: {reason}");
            }
            var (sensor, trigger) = await FindTriggerAsync(letter, ct).ConfigureAwait(false);
            var plan = Build(letter, sensor, trigger);
            try
            {
                return await FireAsync(letter, sensor, plan, ct).ConfigureAwait(false);
            }
            finally
            {
                plan.Limiter?.Dispose();
                plan.DeadLetter?.Limiter?.Dispose();
            }
        }
        finally
        {
            _replaying.TryRemove(id, out _);
        }
    }

    private async Task<(Sensor Sensor, SensorTrigger Trigger)> FindTriggerAsync(DeadLetter letter, CancellationToken ct)
    {
        var slash = letter.Sensor.IndexOf('/', StringComparison.Ordinal);
        var sensor = slash > 0 ? await store.GetAsync<Sensor>(letter.Sensor[..slash], letter.Sensor[(slash + 1)..], ct).ConfigureAwait(false) : null;
        if (sensor is null)
            throw new DeadLetterReplayException(ReplayRefusal.NotFound, $"dead letter {letter.Id}: sensor {letter.Sensor} no longer exists");
        var trigger = sensor.Spec.Triggers?.FirstOrDefault(t => t.Template?.Name == letter.Trigger)
            ?? throw new DeadLetterReplayException(ReplayRefusal.NotFound,
                $"dead letter {letter.Id}: sensor {letter.Sensor} has no trigger '{letter.Trigger}' any more (spec.triggers[].template.name)");
        return (sensor, trigger);
    }

    private TriggerPlan Build(DeadLetter letter, Sensor sensor, SensorTrigger trigger)
    {
        var dependencies = (sensor.Spec.Dependencies ?? []).Select(d => d.Name ?? "").ToList();
        try
        {
            return TriggerPlan.Build(trigger, dependencies, _kinds, context.Time);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new DeadLetterReplayException(ReplayRefusal.Invalid, $"dead letter {letter.Id}: trigger '{letter.Trigger}' of sensor {letter.Sensor} cannot fire: {e.Message}");
        }
    }

    private async Task<ReplayResult> FireAsync(DeadLetter letter, Sensor sensor, TriggerPlan plan, CancellationToken ct)
    {
        var (result, error) = await plan.TryFireAsync(sensor, letter.Events, letter.DedupKey, letter.Sequences, context, ct).ConfigureAwait(false);
        if (result is null) return Failed(letter, error!);
        if (result.CreatedKind == "Workflow" && result.CreatedName is { } name) await gate.TrackAsync(sensor.NamespaceOrDefault, name, null, ct).ConfigureAwait(false);
        var now = context.Time.GetUtcNow();
        Record(letter, result.Detail, now);
        return new ReplayResult(letter.Id, letter.Sensor, letter.Trigger, Outcomes.Triggered, result.Detail, now);
    }

    private ReplayResult Failed(DeadLetter letter, string error) =>
        new(letter.Id, letter.Sensor, letter.Trigger, Outcomes.Failed, error, context.Time.GetUtcNow());

    /// <summary>The replayed firing as the pipeline would have recorded it, so the event's path ends in "triggered".</summary>
    private void Record(DeadLetter letter, string detail, DateTimeOffset now)
    {
        var batch = new SensorBatch(letter.Sensor);
        batch.Firings.Add(new FiringRecord(letter.Sensor, letter.Trigger, letter.DedupKey, letter.Sequences, now, Outcomes.Triggered, detail));
        if (letter.Sequences.Count > 0)
            batch.Decisions.Add(new Decision(letter.Sequences.Max(), letter.Sensor, letter.Trigger, Outcomes.Triggered, $"replayed dead letter {letter.Id}: {detail}", now));
        state.Commit(batch);
        state.MarkReplayed(letter.Id, now, $"{Outcomes.Triggered}: {detail}");
        var (ns, name) = letter.Sensor.IndexOf('/') is var slash and > 0 ? (letter.Sensor[..slash], letter.Sensor[(slash + 1)..]) : ("", letter.Sensor);
        metrics.Fired(ns, name, letter.Trigger, succeeded: true, TimeSpan.Zero);
    }
}

/// <summary>What a replay did: <see cref="Outcomes.Triggered"/> with the trigger's detail, or <see cref="Outcomes.Failed"/> with why.</summary>
public sealed record ReplayResult(long Id, string Sensor, string Trigger, string Outcome, string Detail, DateTimeOffset Time);

public enum ReplayRefusal { NotFound, Conflict, Invalid }

/// <summary>A replay that was not attempted, and why.</summary>
public sealed class DeadLetterReplayException(ReplayRefusal refusal, string message) : Exception(message)
{
    public ReplayRefusal Refusal { get; } = refusal;
}
