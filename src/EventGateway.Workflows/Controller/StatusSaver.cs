using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Writes one running workflow's status to the store. A pass that changed the phase or completed the workflow is
/// saved at once, as is the first; others at most once per interval, with a flush timer asking for a pass when the
/// interval is over, so the last change is saved even when nothing else happens. The interval grows with the
/// cost of a save (at least ten times its last duration): a 10,000-node status takes tens of milliseconds to
/// write, and saving it every 250 ms would spend a core on saves alone.
/// </summary>
internal sealed class StatusSaver : IDisposable
{
    private readonly IResourceStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly IWorkflowObserver _observer;
    private readonly Workflow _wf;
    private readonly Action _flushDue;
    private readonly Action<Workflow> _adoptOutsideChanges;
    private DateTimeOffset _lastSaved;
    private TimeSpan _lastSaveTook;
    private string? _savedPhase;
    private ITimer? _flush;
    private volatile bool _flushFired;

    /// <param name="flushDue">asks for a pass; that pass saves what is due.</param>
    /// <param name="adoptOutsideChanges">takes what someone else wrote (a conflict) onto <paramref name="wf"/>, which is then saved.</param>
    public StatusSaver(IResourceStore store, TimeProvider time, TimeSpan interval, IWorkflowObserver observer, Workflow wf,
        Action flushDue, Action<Workflow> adoptOutsideChanges)
    {
        (_store, _time, _interval, _observer, _wf, _flushDue, _adoptOutsideChanges) = (store, time, interval, observer, wf, flushDue, adoptOutsideChanges);
        _lastSaved = time.GetUtcNow();
        _savedPhase = wf.Status?.Phase;
    }

    /// <summary>A pass ran since the last save.</summary>
    public bool Dirty { get; private set; }

    /// <summary>After a pass: saves now if it must, or makes sure the flush timer will ask for a pass that does.</summary>
    public async Task PassedAsync(string? phaseBefore, bool completed, CancellationToken ct)
    {
        Dirty = true;
        var now = _time.GetUtcNow();
        var interval = Interval;
        if (completed || phaseBefore != _wf.Status?.Phase || _savedPhase is null || now - _lastSaved >= interval)
            await SaveAsync(ct).ConfigureAwait(false);
        else if (_flush is null || _flushFired)
        {
            // (Re)arm for the rest of the interval. A timer can fire a hair before the interval has passed on
            // this clock; that pass does not save, and without re-arming the status would never be saved.
            _flush?.Dispose();
            var due = interval - (now - _lastSaved);
            if (due < TimeSpan.FromMilliseconds(1)) due = TimeSpan.FromMilliseconds(1);
            _flushFired = false;
            _flush = _time.CreateTimer(_ =>
            {
                _flushFired = true;
                _flushDue();
            }, null, due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The time between saves of passes that changed nothing the user must see at once.</summary>
    private TimeSpan Interval => _lastSaveTook * 10 is var scaled && scaled > _interval ? scaled : _interval;

    public async Task SaveAsync(CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        try
        {
            await _store.UpdateAsync(_wf, ct).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            // Someone else changed the object (labels, operator controls); take theirs and put our status on it.
            var fresh = await _store.GetAsync<Workflow>(_wf.NamespaceOrDefault, _wf.Name, ct).ConfigureAwait(false);
            if (fresh is null) return;
            _adoptOutsideChanges(fresh);
            await _store.UpdateAsync(_wf, ct).ConfigureAwait(false);
        }
        _lastSaved = _time.GetUtcNow();
        _lastSaveTook = _time.GetElapsedTime(started);
        _savedPhase = _wf.Status?.Phase;
        Dirty = false;
        _flush?.Dispose();
        _flush = null;
        _observer.StatusSaved(_wf);
    }

    /// <summary>Stops the flush timer: the workflow completed or is gone.</summary>
    public void Dispose() => _flush?.Dispose();
}
