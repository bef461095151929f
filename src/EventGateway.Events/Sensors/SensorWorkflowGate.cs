using System.Collections.Concurrent;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors;

/// <summary>
/// The service-wide cap on workflows created by sensors that have not completed yet: a flood of events
/// queues (in the event log, behind a waiting sensor) instead of launching thousands of runs. Tracks the
/// workflows it let through and frees a slot when one completes or is deleted. With several replicas the places are
/// taken in the shared database (<see cref="ISensorWorkflowPlaces"/>), so the cap holds over all of them.
/// </summary>
public sealed class SensorWorkflowGate : IDisposable
{
    public const string SensorLabel = "events.argoproj.io/sensor";
    public const string TriggerLabel = "events.argoproj.io/trigger";

    private readonly IResourceStore _store;
    private readonly ConcurrentDictionary<(string Ns, string Name), byte> _running = new();
    private readonly SemaphoreSlim _changed = new(0);
    private readonly IDisposable _watch;
    private readonly ISensorWorkflowPlaces? _shared;
    private int _sharedHeld;

    public SensorWorkflowGate(IResourceStore store, int max, ISensorWorkflowPlaces? shared = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _store = store;
        _shared = shared;
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

    /// <summary>Places held over all replicas as last seen (with one replica: <see cref="Running"/>).</summary>
    public int Held => _shared is null ? Running : Volatile.Read(ref _sharedHeld);

    /// <summary>
    /// Room for the firing <paramref name="reservation"/> about to create a workflow: with several replicas its place is
    /// taken now, in the shared database; false means the caller waits in <see cref="WaitAsync(string, CancellationToken)"/>.
    /// </summary>
    public async Task<bool> TryEnterAsync(string reservation, CancellationToken ct)
    {
        if (_shared is null) return HasRoom;
        var (taken, held) = await _shared.TryTakeAsync(reservation, Max, ct).ConfigureAwait(false);
        Volatile.Write(ref _sharedHeld, held);
        return taken;
    }

    /// <summary>Waits until the firing has room (with several replicas: until it holds its place).</summary>
    public async Task WaitAsync(string reservation, CancellationToken ct)
    {
        if (_shared is null)
        {
            await WaitAsync(ct).ConfigureAwait(false);
            return;
        }
        // A place freed here signals at once; one freed by another replica is seen within a second.
        while (!await TryEnterAsync(reservation, ct).ConfigureAwait(false))
            await _changed.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
    }

    /// <summary>The firing created workflow <paramref name="name"/>: its place is the workflow's until it completes.</summary>
    public async Task TrackAsync(string @namespace, string name, string? reservation, CancellationToken ct)
    {
        if (_shared is not null) await _shared.BindAsync(reservation, @namespace, name, ct).ConfigureAwait(false);
        Track(@namespace, name);
    }

    /// <summary>The firing created no workflow: its place (with several replicas) goes.</summary>
    public Task LeaveAsync(string reservation, CancellationToken ct) => _shared?.ReleaseAsync(reservation, ct) ?? Task.CompletedTask;

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

    private void Free((string Namespace, string Name) key)
    {
        if (!_running.TryRemove(key, out _)) return;
        if (_shared is null) _changed.Release();
        else _ = FreeSharedAsync(key); // every replica that saw it complete frees it: the same delete
    }

    private async Task FreeSharedAsync((string Namespace, string Name) key)
    {
        try { await _shared!.FreeAsync(key.Namespace, key.Name, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is not OutOfMemoryException) { return; } // dropped at the cap by the next take that finds it completed
        try { _changed.Release(); }
        catch (ObjectDisposedException) { } // stopping
    }

    private static bool IsDone(Workflow wf) => wf.Status?.IsCompleted == true;

    public void Dispose()
    {
        _watch.Dispose();
        _changed.Dispose();
    }
}
