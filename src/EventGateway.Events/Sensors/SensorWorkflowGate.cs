using System.Collections.Concurrent;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors;

/// <summary>
/// The service-wide cap on workflows created by sensors that have not completed yet: a flood of events
/// queues (in the event log, behind a waiting sensor) instead of launching thousands of runs. Tracks the
/// workflows it let through and frees a slot when one completes or is deleted.
/// </summary>
public sealed class SensorWorkflowGate : IDisposable
{
    public const string SensorLabel = "events.argoproj.io/sensor";
    public const string TriggerLabel = "events.argoproj.io/trigger";

    private readonly IResourceStore _store;
    private readonly ConcurrentDictionary<(string Ns, string Name), byte> _running = new();
    private readonly SemaphoreSlim _changed = new(0);
    private readonly IDisposable _watch;

    public SensorWorkflowGate(IResourceStore store, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _store = store;
        Max = max;
        _watch = store.Watch("Workflow", OnChange);
        foreach (var wf in store.ListAsync<Workflow>().GetAwaiter().GetResult())
            if (wf.Metadata.Labels?.ContainsKey(SensorLabel) == true && !IsDone(wf))
                _running[(wf.NamespaceOrDefault, wf.Name)] = 0;
    }

    public int Max { get; }
    public int Running => _running.Count;

    /// <summary>True when a workflow may be created now; false means the caller should wait in <see cref="WaitAsync"/>.</summary>
    public bool HasRoom => _running.Count < Max;

    public async Task WaitAsync(CancellationToken ct)
    {
        while (_running.Count >= Max)
            await _changed.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); // the timeout only guards a missed signal
    }

    /// <summary>Counts a workflow a trigger created. It may already have finished (a policy waited for it), so it is checked once now.</summary>
    public void Track(string @namespace, string name)
    {
        _running[(@namespace, name)] = 0;
        Check((@namespace, name));
    }

    private void OnChange(ResourceChange change)
    {
        var key = (change.Namespace, change.Name);
        if (!_running.ContainsKey(key)) return;
        if (change.Type == ChangeType.Deleted) Free(key);
        else Check(key);
    }

    private void Check((string Namespace, string Name) key) => _ = Task.Run(async () =>
    {
        var wf = await _store.GetAsync<Workflow>(key.Namespace, key.Name).ConfigureAwait(false);
        if (wf is null || IsDone(wf)) Free(key);
    });

    private void Free((string, string) key)
    {
        if (_running.TryRemove(key, out _)) _changed.Release();
    }

    private static bool IsDone(Workflow wf) => wf.Status?.IsCompleted == true;

    public void Dispose()
    {
        _watch.Dispose();
        _changed.Dispose();
    }
}
