using System.Diagnostics;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Filters;
using EventGateway.Events.Sensors.State;
using EventGateway.Events.Sensors.Transforms;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Languages;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors;

/// <summary>
/// One Sensor's pipeline over the event log: match dependency → transform → filters → conditions → dedup →
/// rate limit → workflow cap → parameters → trigger (retries, dead letter). Reads forward from its checkpoint;
/// each pass commits its decisions, partial condition state and checkpoint in one transaction, AFTER the
/// triggers fired, so an event is acknowledged only once its outcome is recorded (at-least-once). A crash
/// replays the pass; created workflows carry names derived from the firing, so the replay finds them.
/// </summary>
internal sealed partial class SensorRunner
{
    private readonly Sensor _sensor;
    private readonly string _key;
    private readonly IEventLog _log;
    private readonly ISensorStateStore _state;
    private readonly SensorWorkflowGate _gate;
    private readonly TriggerContext _context;
    private readonly SensorOptions _options;
    private readonly SensorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<EventDependency> _dependencies;
    private readonly IReadOnlyList<TriggerPlan> _plans;
    private readonly IReadOnlyList<string>? _dedupPaths;
    private readonly TimeSpan _dedupWindow;
    private readonly SemaphoreSlim _pass = new(1, 1); // the loop and conditions resets take turns
    private Dictionary<string, Dictionary<string, PartialEvent>> _partial = [];
    private SensorBatch _batch;

    /// <summary>
    /// The lease this replica runs the sensor under (several replicas): every commit carries it, so once another
    /// replica took the sensor over, a late commit of this one is refused (FencedWriteException) and writes nothing.
    /// </summary>
    public LeaseFence? Fence
    {
        get => _fence;
        set
        {
            _fence = value;
            if (_batch.IsEmpty) _batch = new SensorBatch(_key) { Fence = value };
        }
    }

    private LeaseFence? _fence;

    public SensorRunner(Sensor sensor, IEventLog log, ISensorStateStore state, SensorWorkflowGate gate, TriggerContext context,
        IReadOnlyDictionary<string, ITrigger> kinds, SensorOptions options, SensorMetrics metrics, SensorStatus status)
    {
        _sensor = sensor;
        _key = SensorHost.KeyOf(sensor);
        _log = log;
        _state = state;
        _gate = gate;
        _context = context;
        _options = options;
        _metrics = metrics;
        _time = context.Time;
        _logger = context.Logger;
        Status = status;
        _dependencies = sensor.Spec.Dependencies ?? [];
        var names = _dependencies.Select(d => d.Name!).ToList();
        _plans = (sensor.Spec.Triggers ?? []).Select(t => TriggerPlan.Build(t, names, kinds, _time)).ToList();
        _dedupPaths = DedupKeys.DeclaredPaths(sensor);
        _dedupWindow = DedupKeys.Window(sensor);
        _batch = new SensorBatch(_key);
        foreach (var plan in _plans) metrics.Start(sensor.NamespaceOrDefault, sensor.Name, plan.Name);
    }


    public SensorStatus Status { get; }

    public async Task RunAsync(CancellationToken ct)
    {
        var checkpoint = _state.GetCheckpoint(_key) ?? await StartingPointAsync(ct).ConfigureAwait(false);
        _partial = _state.LoadPartial(_key);
        // Taken over from another replica: its firings of the last unit count against each rateLimit here too.
        foreach (var plan in _plans)
            if (plan.Limiter is { } limiter) limiter.Seed(_state.FiringsSince(_key, plan.Name, _time.GetUtcNow() - limiter.Unit));
        Status.Checkpoint = checkpoint;
        Status.State = SensorState.Running;
        Status.Message = null;
        using var resets = StartResets(ct);
        while (!ct.IsCancellationRequested)
        {
            var events = await _log.ReadAsync(checkpoint, _options.BatchSize, ct).ConfigureAwait(false);
            if (events.Count == 0)
            {
                await _log.WaitForAsync(checkpoint, ct).ConfigureAwait(false);
                continue;
            }
            await _pass.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                foreach (var e in events)
                {
                    await ProcessAsync(e, ct).ConfigureAwait(false);
                    _batch.Checkpoint = checkpoint = e.Sequence;
                }
                Flush();
            }
            finally
            {
                _pass.Release();
            }
        }
    }

    /// <summary>A new sensor sees events from now on, as an Argo sensor sees what arrives after it subscribes.</summary>
    private async Task<long> StartingPointAsync(CancellationToken ct)
    {
        var last = (await _log.StatsAsync(ct).ConfigureAwait(false)).LastSequence;
        _state.Commit(new SensorBatch(_key) { Fence = Fence, Checkpoint = last });
        return last;
    }

    /// <summary>Commits what the pass decided so far; called before any wait so the record is current while the sensor waits.</summary>
    private void Flush()
    {
        if (_batch.IsEmpty) return;
        _state.Commit(_batch);
        if (_batch.Checkpoint is { } cp) Status.Checkpoint = cp;
        _batch = new SensorBatch(_key) { Fence = Fence };
    }

    private async Task ProcessAsync(LoggedEvent logged, CancellationToken ct)
    {
        if (logged.Namespace != _sensor.NamespaceOrDefault) return;
        var e = logged.Event;
        if (!_dependencies.Any(dep => dep.EventSourceName == e.Source && dep.EventName == e.Subject)) return; // not an event this sensor depends on
        using var span = SensorTracing.Event(_sensor, logged);
        var passed = new Dictionary<string, CloudEvent>(StringComparer.Ordinal);
        var refusals = new List<string>();
        foreach (var dep in _dependencies)
        {
            if (dep.EventSourceName != e.Source || dep.EventName != e.Subject) continue;
            using var stage = SensorTracing.Stage("dependency", ("dependency", dep.Name));
            var (accepted, reason) = Evaluate(dep, e);
            SensorTracing.Outcome(stage, accepted is not null ? Outcomes.Passed : Outcomes.Filtered, reason);
            if (accepted is not null) passed[dep.Name!] = accepted;
            else refusals.Add($"{dep.Name}: {reason}");
        }
        Status.LastEventAt = _time.GetUtcNow();
        Decide(logged.Sequence, "", passed.Count > 0 ? Outcomes.Passed : Outcomes.Filtered,
            passed.Count > 0 ? $"matched {string.Join(", ", passed.Keys)}{(refusals.Count > 0 ? $"; filtered {string.Join("; ", refusals)}" : "")}" : string.Join("; ", refusals));
        if (passed.Count == 0) return;

        foreach (var plan in _plans)
        {
            var relevant = passed.Keys.Where(plan.Conditions.Names.Contains).ToList();
            if (relevant.Count == 0) continue;
            if (!_partial.TryGetValue(plan.Name, out var state)) _partial[plan.Name] = state = new(StringComparer.Ordinal);
            foreach (var dep in relevant) state[dep] = new PartialEvent(logged.Sequence, passed[dep]); // the latest event of a dependency wins
            var met = plan.Conditions.Evaluate(state.ContainsKey);
            using (var stage = SensorTracing.Stage("conditions", ("trigger", plan.Name)))
                SensorTracing.Outcome(stage, met ? "met" : Outcomes.Waiting, null);
            if (!met)
            {
                _batch.Partial[plan.Name] = new Dictionary<string, PartialEvent>(state);
                var missing = plan.Conditions.Names.Where(n => !state.ContainsKey(n));
                Decide(logged.Sequence, plan.Name, Outcomes.Waiting, $"conditions '{plan.Trigger.Template?.Conditions ?? string.Join(" && ", plan.Conditions.Names)}' not yet met; missing {string.Join(", ", missing)}");
                continue;
            }
            var firing = state.Where(kv => plan.Conditions.Names.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            state.Clear();
            await FireAsync(plan, logged.Sequence, firing, ct).ConfigureAwait(false);
            // Cleared durably only once the firing is decided: a crash before that replays this event into the old state and fires again.
            _batch.Partial[plan.Name] = new Dictionary<string, PartialEvent>();
        }
    }

    private (CloudEvent? Accepted, string? Reason) Evaluate(EventDependency dep, CloudEvent e)
    {
        if (dep.Transform is { } transform)
        {
            try
            {
                e = EventTransformer.Apply(transform, e, _time);
            }
            catch (TransformException ex)
            {
                return (null, $"transform failed: {ex.Message}");
            }
        }
        var result = DependencyFilter.Evaluate(dep.Filters, dep.FiltersLogicalOperator, CloudEventView.From(e), _time.GetUtcNow(), null);
        return result.Passed ? (e, null) : (null, result.Reason);
    }

    private async Task FireAsync(TriggerPlan plan, long sequence, Dictionary<string, PartialEvent> state, CancellationToken ct)
    {
        var events = state.ToDictionary(kv => kv.Key, kv => kv.Value.Event, StringComparer.Ordinal);
        var sequences = state.Values.Select(p => p.Sequence).Distinct().Order().ToList();
        var key = DedupKeys.For(events, _dedupPaths);
        var now = _time.GetUtcNow();
        var earlier = _batch.FindFiring(plan.Name, key) ?? _state.FindFiring(_key, plan.Name, key, now - _dedupWindow);
        using (var stage = SensorTracing.Stage("dedup", ("trigger", plan.Name), ("dedup_key", key)))
            SensorTracing.Outcome(stage, earlier is null ? "unique" : Outcomes.Duplicate, null);
        if (earlier is not null)
        {
            if (earlier.Sequences.SequenceEqual(sequences)) return; // this very firing, replayed
            Decide(sequence, plan.Name, Outcomes.Duplicate,
                $"dedup key '{key}' already fired at {earlier.Time:u} by event {string.Join(",", earlier.Sequences.Select(s => "#" + s))}{(earlier.Detail is null ? "" : $" ({earlier.Detail})")}");
            return;
        }

        TimeSpan? waited;
        using (var stage = plan.Limiter is null ? null : SensorTracing.Stage("rateLimit", ("trigger", plan.Name)))
        {
            waited = await WaitForRateLimitAsync(plan, ct).ConfigureAwait(false);
            SensorTracing.Outcome(stage, waited is null ? "allowed" : Outcomes.RateLimited, waited is { } ww ? $"waited {Durations.Format(ww)}" : null);
        }
        if (waited is { } w)
            Decide(sequence, plan.Name, Outcomes.RateLimited, $"waited {Durations.Format(w)} for rateLimit {plan.Limiter}");
        // With several replicas the place is taken here, in the shared database, and is this firing's until it binds it to its workflow.
        var reservation = plan.CreatesWorkflows ? $"firing:{_key}/{plan.Name}/{key}" : null;
        if (reservation is not null && !await _gate.TryEnterAsync(reservation, ct).ConfigureAwait(false))
        {
            Flush();
            Status.State = SensorState.Waiting;
            Status.Message = $"{_gate.Held} sensor workflows unfinished (cap {_gate.Max}); waiting for one to complete";
            await _gate.WaitAsync(reservation, ct).ConfigureAwait(false);
            Status.State = SensorState.Running;
            Status.Message = null;
        }

        var started = _time.GetTimestamp();
        TriggerResult? result;
        string? error;
        // The trigger's span is the current one while it fires: a workflow it creates carries this span's trace context.
        using (var stage = SensorTracing.Stage("trigger", ("trigger", plan.Name), ("trigger_kind", plan.Kind.Kind)))
        {
            (result, error) = await plan.TryFireAsync(_sensor, events, key, sequences, _context, ct).ConfigureAwait(false);
            SensorTracing.Outcome(stage, result is not null ? Outcomes.Triggered : Outcomes.Failed, result?.Detail ?? error);
        }
        _metrics.Fired(_sensor.NamespaceOrDefault, _sensor.Name, plan.Name, result is not null, _time.GetElapsedTime(started));
        if (result is not null)
        {
            if (result.CreatedKind == "Workflow" && result.CreatedName is { } name) await _gate.TrackAsync(_sensor.NamespaceOrDefault, name, reservation, ct).ConfigureAwait(false);
            else if (reservation is not null) await _gate.LeaveAsync(reservation, ct).ConfigureAwait(false);
            Decide(sequence, plan.Name, Outcomes.Triggered, result.Detail);
            _batch.Firings.Add(new FiringRecord(_key, plan.Name, key, sequences, _time.GetUtcNow(), Outcomes.Triggered, result.Detail));
            return;
        }

        if (reservation is not null) await _gate.LeaveAsync(reservation, ct).ConfigureAwait(false);
        Decide(sequence, plan.Name, Outcomes.Failed, error);
        LogTriggerFailed(_logger, _key, plan.Name, error!);
        if (plan.DeadLetter is { } dlq)
        {
            var (dlqResult, dlqError) = await dlq.TryFireAsync(_sensor, events, key, sequences, _context, ct).ConfigureAwait(false);
            if (dlqResult is not null)
            {
                Decide(sequence, plan.Name, Outcomes.DeadLettered, $"dlqTrigger {dlq.Name}: {dlqResult.Detail}");
                return;
            }
            error = $"{error}; dlqTrigger {dlq.Name} failed too: {dlqError}";
        }
        _batch.DeadLetters.Add(new DeadLetter(0, _key, plan.Name, key, sequences, events, error!, _time.GetUtcNow(), null, null));
        Decide(sequence, plan.Name, Outcomes.DeadLettered, "kept in the dead-letter list (egw dlq list, egw dlq replay)");
    }

    private async Task<TimeSpan?> WaitForRateLimitAsync(TriggerPlan plan, CancellationToken ct)
    {
        if (plan.Limiter is not { } limiter) return null;
        using (var lease = limiter.AttemptAcquire())
            if (lease.IsAcquired) return null;
        Flush(); // events behind this one wait in the log; what is decided so far is recorded now
        var started = _time.GetTimestamp();
        Status.State = SensorState.Waiting;
        Status.Message = $"trigger {plan.Name} waits for its rate limit";
        using (await limiter.AcquireAsync(1, ct).ConfigureAwait(false)) { }
        Status.State = SensorState.Running;
        Status.Message = null;
        return _time.GetElapsedTime(started);
    }

    private void Decide(long sequence, string trigger, string outcome, string? reason) =>
        _batch.Decisions.Add(new Decision(sequence, _key, trigger, outcome, reason, _time.GetUtcNow()));

    /// <summary><c>conditionsReset.byTime</c>: at each cron tick the trigger forgets the events it was waiting to combine.</summary>
    private IDisposable StartResets(CancellationToken ct)
    {
        var timers = new List<ITimer>();
        foreach (var plan in _plans)
            foreach (var (cron, zone) in plan.Resets)
            {
                ITimer? timer = null;
                void Arm()
                {
                    var local = TimeZoneInfo.ConvertTime(_time.GetUtcNow(), zone).DateTime;
                    var next = cron.Next(local, local.AddYears(5));
                    var due = new DateTimeOffset(next, zone.GetUtcOffset(next)) - _time.GetUtcNow();
                    timer!.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
                }
                timer = _time.CreateTimer(_ =>
                {
                    _ = ResetAsync(plan.Name, ct).ContinueWith(_ => { if (!ct.IsCancellationRequested) Arm(); }, TaskScheduler.Default);
                }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                timers.Add(timer);
                Arm();
            }
        return new Timers(timers);
    }

    private async Task ResetAsync(string trigger, CancellationToken ct)
    {
        await _pass.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_partial.TryGetValue(trigger, out var state) && state.Count > 0)
            {
                state.Clear();
                _batch.Partial[trigger] = new Dictionary<string, PartialEvent>();
                Flush();
            }
        }
        finally
        {
            _pass.Release();
        }
    }

    private sealed class Timers(List<ITimer> timers) : IDisposable
    {
        public void Dispose() => timers.ForEach(t => t.Dispose());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "sensor {Sensor} trigger {Trigger} failed: {Error}")]
    private static partial void LogTriggerFailed(ILogger logger, string sensor, string trigger, string error);
}
