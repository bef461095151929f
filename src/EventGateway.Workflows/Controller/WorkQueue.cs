using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The controller's queue of workflow keys, with client-go's workqueue guarantees: a key is queued once however
/// often it is added, and never handed to two workers at once; a key added while a worker has it is handed out
/// again when that worker is done, so no change is missed and no workflow's passes overlap.
/// <para>
/// Urgent keys go first: a workflow whose step ended, or that a released lock lets start, holds (or is about to
/// hold) a process slot and a lock place while it waits here. In first-come order they waited behind every workflow
/// submitted in the same burst (500 at once: each pass of those ~11 ms in the queue, measured), which kept the
/// semaphore's places idle. One normal key is taken after every <see cref="UrgentStreak"/> urgent ones, so a steady
/// stream of step ends never starves new workflows.
/// </para>
/// </summary>
internal sealed class WorkQueue(ControllerMetrics? metrics = null)
{
    private const int UrgentStreak = 8;

    private readonly ConcurrentQueue<string> _urgent = new(), _normal = new();
    /// <summary>One count per entry in either queue. An entry can be stale (its key was promoted and taken from the other queue): it is skipped.</summary>
    private readonly SemaphoreSlim _entries = new(0);
    private readonly Lock _gate = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyUrgent = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private int _streak;
    /// <summary>When each dirty key was added, and when each key in work was taken (client-go's queue_latency and work duration).</summary>
    private readonly Dictionary<string, long> _added = new(StringComparer.Ordinal), _taken = new(StringComparer.Ordinal);

    /// <param name="urgent">the workflow holds or is about to hold a step's process or a lock place (see the class).</param>
    public void Add(string key, bool urgent = false)
    {
        int depth;
        lock (_gate)
        {
            if (!_dirty.Add(key))
            {
                // Queued already: an urgent add moves it up (a second entry; the first becomes stale), once.
                if (!urgent || !_dirtyUrgent.Add(key) || _processing.Contains(key)) return;
            }
            else
            {
                if (urgent) _dirtyUrgent.Add(key);
                if (metrics is not null) _added[key] = Stopwatch.GetTimestamp();
                if (_processing.Contains(key)) return;
            }
            Write(key, urgent);
            depth = Depth;
        }
        metrics?.Queued(depth);
    }

    /// <summary>The next key; the caller owns it until <see cref="Done"/>.</summary>
    public async ValueTask<string> TakeAsync(CancellationToken ct)
    {
        while (true)
        {
            await _entries.WaitAsync(ct).ConfigureAwait(false);
            lock (_gate)
            {
                var preferNormal = _streak >= UrgentStreak && !_normal.IsEmpty;
                string? key;
                if (!preferNormal && _urgent.TryDequeue(out key)) _streak++;
                else if (_normal.TryDequeue(out key) || _urgent.TryDequeue(out key)) _streak = 0;
                if (key is null || !_dirty.Contains(key) || _processing.Contains(key)) continue; // a stale entry
                _dirty.Remove(key);
                _dirtyUrgent.Remove(key);
                _processing.Add(key);
                if (metrics is not null)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (_added.Remove(key, out var added)) metrics.QueueLatency(Stopwatch.GetElapsedTime(added, now));
                    _taken[key] = now;
                }
                metrics?.Taken(Depth, _processing.Count);
                return key;
            }
        }
    }

    public void Done(string key)
    {
        lock (_gate)
        {
            _processing.Remove(key);
            if (metrics is not null && _taken.Remove(key, out var taken)) metrics.QueueDuration(Stopwatch.GetElapsedTime(taken));
            metrics?.Taken(Depth, _processing.Count);
            if (_dirty.Contains(key)) Write(key, _dirtyUrgent.Contains(key));
        }
    }

    private void Write(string key, bool urgent)
    {
        (urgent ? _urgent : _normal).Enqueue(key);
        _entries.Release();
    }

    /// <summary>Keys waiting for a worker (call under the gate).</summary>
    private int Depth
    {
        get
        {
            var depth = _dirty.Count;
            foreach (var key in _processing)
                if (_dirty.Contains(key)) depth--;
            return depth;
        }
    }
}
