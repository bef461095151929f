using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Replicas;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors;

/// <summary>
/// Keeps one running pipeline per Sensor in the store: starts it when the Sensor is added, restarts it
/// when its spec or annotations change (keeping its checkpoint and partial state), stops it and forgets
/// its position when deleted. A refused Sensor says why; a failing pipeline restarts with 1 s → 30 s backoff
/// and replays from its checkpoint. With several replicas a Sensor runs on the one that holds its lease
/// (<c>sensor/NAMESPACE/NAME</c>); the others keep it Waiting and take over when that lease is free.
/// </summary>
public sealed partial class SensorHost(
    IResourceStore store,
    IEventLog log,
    ISensorStateStore state,
    SensorWorkflowGate gate,
    TriggerContext context,
    IEnumerable<ITrigger> triggers,
    SensorOptions options,
    SensorMetrics metrics,
    ILoggerFactory loggers,
    IOwnership ownership,
    SensorValidator? validator = null) : ResourceReconciler<Sensor>(store, "Sensor", loggers.CreateLogger<SensorHost>())
{
    /// <summary>A sensor's key in the state store and metrics: namespace/name.</summary>
    public static string KeyOf(Sensor s) => $"{s.NamespaceOrDefault}/{s.Name}";

    private sealed record Running(string Fingerprint, CancellationTokenSource Stop, Task Task, SensorStatus Status, TimeSpan DedupWindow);

    private readonly ConcurrentDictionary<(string Ns, string Name), Running> _running = new();
    /// <summary>Each Sensor's lease claim, kept across restarts of its pipeline (a changed spec) until it is deleted.</summary>
    private readonly ConcurrentDictionary<(string Ns, string Name), ExclusiveWork> _leases = new();
    private readonly IReadOnlyDictionary<string, ITrigger> _kinds = triggers.ToDictionary(t => t.Kind, StringComparer.Ordinal);
    private readonly ILogger _log = loggers.CreateLogger<SensorHost>();

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    public ISensorStateStore State => state;

    public SensorStatus? StatusOf(string @namespace, string name) => _running.TryGetValue((@namespace, name), out var r) ? r.Status : null;

    private ITimer? _pruner;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Dedup records past their window and old event paths go once an hour.
        _pruner = context.Time.CreateTimer(_ => Prune(), null, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        return base.StartAsync(cancellationToken);
    }

    protected override async Task StopAllAsync()
    {
        _pruner?.Dispose();
        foreach (var key in _running.Keys.ToList()) await StopAsync(key).ConfigureAwait(false);
        foreach (var key in _leases.Keys.ToList())
            if (_leases.TryRemove(key, out var lease)) lease.Dispose();
    }

    protected override async Task ReconcileAsync((string Ns, string Name) key, CancellationToken ct)
    {
        var sensor = await Store.GetAsync<Sensor>(key.Ns, key.Name, ct).ConfigureAwait(false);
        if (sensor is null)
        {
            await StopAsync(key).ConfigureAwait(false);
            if (_leases.TryRemove(key, out var lease)) lease.Dispose();
            state.Forget($"{key.Ns}/{key.Name}");
            return;
        }
        var fingerprint = JsonSerializer.Serialize(sensor.Spec, Json.Lenient) + JsonSerializer.Serialize(sensor.Metadata.Annotations, Json.Lenient);
        if (_running.TryGetValue(key, out var current) && current.Fingerprint == fingerprint) return;
        await StopAsync(key).ConfigureAwait(false);

        var status = new SensorStatus();
        var errors = new List<string>();
        // The mode's validator: in Kubernetes mode k8s triggers may name any kind the cluster serves.
        ((Model.Manifests.IKindValidator)(validator ?? SensorValidator.Instance)).Validate(sensor, (path, reason) => errors.Add($"{path}: {reason}"));
        SensorRunner? runner = null;
        if (errors.Count == 0)
        {
            try
            {
                runner = new SensorRunner(sensor, log, state, gate, context, _kinds, options, metrics, status);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                errors.Add(e.Message);
            }
        }
        if (runner is null)
        {
            status.State = SensorState.Refused;
            status.Message = string.Join("; ", errors);
            _running[key] = new Running(fingerprint, new CancellationTokenSource(), Task.CompletedTask, status, DedupKeys.Window(sensor));
            LogRefused(_log, key.Ns, key.Name, status.Message);
            return;
        }
        var stop = new CancellationTokenSource();
        var work = _leases.GetOrAdd(key, k => new ExclusiveWork(ownership, $"sensor/{k.Ns}/{k.Name}"));
        var task = Task.Run(() => SuperviseAsync(runner, work, key, stop.Token), CancellationToken.None);
        _running[key] = new Running(fingerprint, stop, task, status, DedupKeys.Window(sensor));
        LogStarted(_log, key.Ns, key.Name, sensor.Spec.Triggers?.Count ?? 0);
    }

    /// <summary>How a sensor another replica runs starts its Waiting message (the status writer leaves such a sensor's status to its holder).</summary>
    public const string WaitingForLease = "another replica runs this sensor";

    private async Task SuperviseAsync(SensorRunner runner, ExclusiveWork work, (string Ns, string Name) key, CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            if (!work.Claim.Held)
                (runner.Status.State, runner.Status.Message) = (SensorState.Waiting, $"{WaitingForLease} (lease {work.Lease}); this one takes over when it is free");
            CancellationToken held;
            try { held = await work.WaitHeldAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            runner.Fence = ownership.Shared ? new LeaseFence(work.Lease, ownership.ReplicaId, work.Claim.Epoch) : null;
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct, held);
            try
            {
                await runner.RunAsync(run.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException) when (held.IsCancellationRequested)
            {
                // The lease was lost: stop before another replica may take it, then wait to hold it again.
                LogLeaseLost(_log, key.Ns, key.Name);
                backoff = TimeSpan.FromSeconds(1);
                continue;
            }
            catch (Exception e)
            {
                runner.Status.State = SensorState.Failed;
                runner.Status.Message = e.Message;
                runner.Status.Restarts++;
                LogSensorFailed(_log, e, key.Ns, key.Name, backoff.TotalSeconds);
            }
            try { await Task.Delay(backoff, context.Time, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
        runner.Status.State = SensorState.Stopped;
    }

    private async Task StopAsync((string Ns, string Name) key)
    {
        if (!_running.TryRemove(key, out var r)) return;
        await r.Stop.CancelAsync().ConfigureAwait(false);
        await r.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        r.Stop.Dispose();
    }

    private void Prune()
    {
        try
        {
            var now = context.Time.GetUtcNow();
            var longestWindow = _running.Values.Select(r => r.DedupWindow).DefaultIfEmpty(DedupKeys.DefaultWindow).Max();
            state.Prune(now - longestWindow, now - options.DecisionRetention);
        }
        catch (Exception e)
        {
            LogPruneFailed(_log, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sensor {Namespace}/{Name}: started with {Count} triggers")]
    private static partial void LogStarted(ILogger log, string @namespace, string name, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sensor {Namespace}/{Name} refused: {Errors}")]
    private static partial void LogRefused(ILogger log, string @namespace, string name, string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "sensor {Namespace}/{Name} failed; restarting in {Seconds}s")]
    private static partial void LogSensorFailed(ILogger log, Exception e, string @namespace, string name, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sensor {Namespace}/{Name}: its lease was lost; stopped until it is held again")]
    private static partial void LogLeaseLost(ILogger log, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "pruning sensor state failed")]
    private static partial void LogPruneFailed(ILogger log, Exception e);
}
